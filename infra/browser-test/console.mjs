// Browser test of the web console (/console/), as an admin would use it, against a running
// warroom-local in demo mode: sign in with the demo admin key → Integrations
// (console-integrations.mjs): the Add-integration form connects the Feishu sandbox's second app
// (which the demo leaves unconnected), its four setup URLs → Enable War Room refused, the warning
// listing each permission the app lacks with a Re-authorize link → the scopes granted through the
// Feishu sandbox's control route → Enable War Room accepted, moving war rooms from wherever they
// were → war rooms moved on to the demo's Feishu integration (the sandbox view clicks cards as
// the demo's app) → Linked users: filter, search, One-Click Link → an incident arrives
// (POST /hooks/generic) → Create War Room → View War Room points at the sandbox chat (when the
// API gives the war room a chat_url: it gives none for the Feishu sandbox, which is logged as NOT
// CHECKED) → Acknowledge clicked on the card in the sandbox view → the open incident page shows
// "acknowledged" without a reload → Dismiss War Room → the timeline names every step's actor.
// axe-core checks every page it visits at 1280 and 390 px wide (console-pages.mjs); a violation
// of any impact fails the run.
//
//   WARROOM_URL=http://127.0.0.1:3000 WARROOM_DATA_DIR=/path/to/data node infra/browser-test/console.mjs
//
// Environment:
//   WARROOM_URL            the running warroom-local (required)
//   WARROOM_ADMIN_KEY      the demo admin key; WARROOM_INTAKE_KEY the intake key. Either both,
//   WARROOM_DATA_DIR       or the stack's data directory, whose demo-keys.json holds them
//   WARROOM_TEST_OUTPUT    where the screenshots go (default .test-output): console-*.png, or
//                          console-failed.png when a step fails
//   CHROMIUM               the browser (default /usr/bin/chromium)
// Exits 0 when every step passed and axe found no violation; otherwise prints why.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ARGS, CHROMIUM, OUT_DIR, StepError, requireChromium } from './harness.mjs';
import { integrations } from './console-integrations.mjs';
import {
  BASE, HEIGHT, TIMEOUTS, WIDTHS, api, axeChecked, axeFindings, checkAxe, clickAndLoad, expectNotice, idOf, log, shoot, step, visit,
} from './console-pages.mjs';

function demoKeys() {
  if (process.env.WARROOM_ADMIN_KEY && process.env.WARROOM_INTAKE_KEY) {
    return { admin: process.env.WARROOM_ADMIN_KEY, intake: process.env.WARROOM_INTAKE_KEY };
  }
  const dir = process.env.WARROOM_DATA_DIR;
  if (!dir) throw new StepError('set WARROOM_DATA_DIR (the stack\'s data directory) or WARROOM_ADMIN_KEY and WARROOM_INTAKE_KEY');
  const keys = JSON.parse(readFileSync(path.join(dir, 'demo-keys.json'), 'utf8'));
  return { admin: keys.admin_key, intake: keys.intake_key };
}

async function main() {
  if (!BASE) throw new StepError('WARROOM_URL is not set (the running warroom-local, e.g. http://127.0.0.1:3000)');
  requireChromium();
  const keys = demoKeys();
  mkdirSync(OUT_DIR, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'warroom-chromium-'));
  const problems = [];
  let context;
  let page;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: WIDTHS[0], height: HEIGHT }, timeout: 30_000,
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // A refused action answers with the API's status (409, 404...): that is the page's design,
    // not a fault, so only other console errors count.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console: ${m.text()}`); });
    // Confirmations (delete, dismiss) are answered yes; any other dialog is script that ran.
    page.on('dialog', (d) => {
      if (d.type() !== 'confirm') problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
      d.accept().catch(() => {});
    });
    await run(context, page, keys);
    if (problems.length) throw new StepError(`the console reported:\n    ${problems.join('\n    ')}`);
  } catch (e) {
    if (page) {
      const shot = path.join(OUT_DIR, 'console-failed.png');
      await page.screenshot({ path: shot, fullPage: true }).then(() => log(`screenshot of the failure: ${shot} (${page.url()})`), () => {});
    }
    if (problems.length && !(e.message || '').includes('the console reported')) e.message += `\n  the page reported:\n    ${problems.slice(-10).join('\n    ')}`;
    throw e;
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  log(`axe checked ${axeChecked.length} page views (${WIDTHS.join(' and ')} px): ${[...new Set(axeChecked.map((c) => c.replace(/ @\d+$/, '')))].join('; ')}`);
  if (axeFindings.length) throw new StepError(`axe-core found ${axeFindings.length} violation(s):\n    ${axeFindings.join('\n    ')}`);
}

async function run(context, page, keys) {
  await visit(page, '/console/', 'sign-in');
  await step('sign in with the admin key', TIMEOUTS.page, async (timeout) => {
    await page.getByLabel('Admin API key').fill(keys.admin);
    await Promise.all([page.waitForURL('**/console/incidents', { timeout }), page.getByRole('button', { name: 'Sign in' }).click()]);
  });

  const feishu = await integrations(page);
  await linkedUsers(page, feishu);

  for (const [p, name] of [['/console/members', 'members'], ['/console/settings', 'settings'], ['/console/keys', 'API keys'], ['/console/dead-letters', 'dead letters']]) {
    await visit(page, p, name);
  }

  const incident = await step('an incident arrives (POST /hooks/generic)', TIMEOUTS.action, async () => {
    const ext = `CONSOLE-${Date.now()}`;
    // Severity warning: the demo opens war rooms by itself for critical ones only, so the
    // page offers *Create War Room*. The <b> shows that a title is text, not markup.
    const answer = await api('POST', '/hooks/generic', keys.intake, {
      id: ext, title: `Console test: checkout latency <b>${ext}</b>`, severity: 'warning', status: 'triggered',
      responders: [{ name: 'Ada', email: 'ada@example.com' }, { name: 'Bob', email: 'bob@example.com' }],
      labels: { service: 'checkout' }, time: new Date().toISOString(),
    });
    return { ext, answer };
  });
  await incidentFlow(context, page, incident);
}

async function rowNames(page) {
  return page.locator('tbody td[data-label="Member"]').evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent.trim()));
}

async function linkedUsers(page, href) {
  await visit(page, href, 'integration detail (Feishu)');
  await step('open Linked users', TIMEOUTS.page, async (timeout) => {
    await clickAndLoad(page, page.getByRole('link', { name: 'Linked users' }), timeout);
  });
  await checkAxe(page, 'linked users');
  const all = await rowNames(page);
  log(`all members: ${all.join(', ')}`);
  await step('filter: Unlinked', TIMEOUTS.page, async (timeout) => {
    await page.getByLabel('Show').selectOption('unlinked');
    await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }), timeout);
    if (!page.url().includes('filter=unlinked')) throw new StepError(`the URL is ${page.url()}`);
    log(`unlinked: ${(await rowNames(page)).join(', ') || '(none)'}`);
  });
  await step('search: "ada"', TIMEOUTS.page, async (timeout) => {
    await page.getByLabel('Show').selectOption('all');
    await page.getByLabel('Name or email').fill('ada');
    await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }), timeout);
    const names = await rowNames(page);
    if (names.length !== 1 || names[0] !== 'Ada') throw new StepError(`the search shows ${JSON.stringify(names)}`);
  });
  await step('clear the search, One-Click Link', TIMEOUTS.action, async (timeout) => {
    await page.goto(`${BASE}${href}/links`, { waitUntil: 'domcontentloaded', timeout });
    await clickAndLoad(page, page.getByRole('button', { name: 'One-Click Link' }), timeout);
    await expectNotice(page, 'One-Click Link');
    const report = page.locator('section[aria-labelledby="report-title"]');
    await report.waitFor({ timeout });
    log(`report: ${(await report.textContent()).replace(/\s+/g, ' ').trim()}`);
  });
  await checkAxe(page, 'linked users, One-Click Link report');
  await shoot(page, 'linked-users');
  await step('filter: Linked shows the demo members', TIMEOUTS.page, async (timeout) => {
    await page.getByLabel('Show').selectOption('linked');
    await clickAndLoad(page, page.getByRole('button', { name: 'Apply' }), timeout);
    const linked = await rowNames(page);
    if (!linked.includes('Ada') || !linked.includes('Bob')) throw new StepError(`linked: ${JSON.stringify(linked)}`);
    log(`linked: ${linked.join(', ')}`);
  });
}

async function liveText(page) {
  return (await page.locator('#live').textContent()).replace(/\s+/g, ' ');
}

async function incidentFlow(context, page, incident) {
  await visit(page, '/console/incidents', 'incidents list');
  const href = await step(`find ${incident.ext} in the list`, TIMEOUTS.page, async () => {
    const link = page.getByRole('link', { name: new RegExp(incident.ext) }).first();
    return link.getAttribute('href');
  });
  const id = idOf(href);
  log(`incident ${id}`);
  await visit(page, href, 'incident page');
  await step('the title is shown as text', TIMEOUTS.page, async () => {
    const h1 = await page.locator('main h1').textContent();
    if (!h1.includes(`<b>${incident.ext}</b>`)) throw new StepError(`the heading reads ${h1}`);
  });
  await step('click Create War Room', TIMEOUTS.action, async (timeout) => {
    await clickAndLoad(page, page.getByRole('button', { name: 'Create War Room' }), timeout);
    await expectNotice(page, 'War room');
  });
  // From here on the page is never reloaded: the console's script swaps #live in.
  await page.evaluate(() => { window.__sameDocument = true; });
  const chatUrl = await step('wait for the war room to open (no reload)', TIMEOUTS.room, async (timeout) => {
    await page.waitForFunction(() => /War room\s*Open/.test(document.querySelector('#live dl')?.textContent || ''), null, { timeout });
    const link = page.getByRole('link', { name: 'View War Room' });
    return (await link.count()) ? link.getAttribute('href') : null;
  });
  await step('View War Room opens the sandbox page at the war room\'s chat', TIMEOUTS.room, async (timeout) => {
    const chatId = await page.locator('#live [data-chat-id]').getAttribute('data-chat-id').catch(() => null);
    if (chatUrl === null) throw new StepError(`no View War Room link on the incident page (chat ${chatId})`);
    if (!chatUrl.startsWith(`${BASE}/sandbox/#chat-`)) throw new StepError(`it points at ${chatUrl}`);
    const chat = await context.newPage();
    try {
      await chat.goto(chatUrl, { waitUntil: 'domcontentloaded', timeout });
      // The page draws its chats after loading, then scrolls to and marks the linked one.
      const shown = chat.locator('article.chat.linked');
      await shown.waitFor({ state: 'visible', timeout });
      const shownId = await shown.getAttribute('data-chat-id');
      if (chatId && shownId !== chatId) throw new StepError(`the page marked chat ${shownId}, not the war room's ${chatId}`);
      log(`View War Room → ${chatUrl}: chat ${shownId} shown and marked`);
    } finally {
      await chat.close();
    }
  });
  await checkAxe(page, 'incident page, war room open');

  await step('click Acknowledge on the card in the sandbox view', TIMEOUTS.room, async (timeout) => {
    const sandbox = await context.newPage();
    try {
      await sandbox.goto(`${BASE}/sandbox/`, { waitUntil: 'domcontentloaded', timeout });
      const card = sandbox.locator(`[data-testid="card"][data-incident-id="${id}"]`).first();
      const ack = card.getByTestId('btn-ack');
      await ack.waitFor({ state: 'visible', timeout });
      log(`card in the ${await card.getAttribute('data-platform')} sandbox`);
      await ack.click({ timeout });
      await sandbox.waitForFunction((i) => {
        const el = document.querySelector(`[data-testid="card"][data-incident-id="${i}"] [data-testid="card-status"]`);
        return el && el.textContent.trim().toLowerCase() === 'acknowledged';
      }, id, { timeout });
    } finally {
      await sandbox.close();
    }
  });
  await page.bringToFront();
  await step('the open incident page shows "acknowledged" without a reload', TIMEOUTS.live, async (timeout) => {
    try {
      await page.waitForFunction(() => /Status\s*acknowledged/.test(document.getElementById('live')?.textContent || ''), null, { timeout });
    } catch (e) {
      throw new StepError(`after ${timeout / 1000} s the page reads: ${(await liveText(page)).slice(0, 300)}`);
    }
    if (!(await page.evaluate(() => window.__sameDocument === true))) throw new StepError('the page was reloaded');
  });

  await step('More actions → Dismiss War Room', TIMEOUTS.action, async (timeout) => {
    await page.getByText('More actions').click({ timeout });
    await clickAndLoad(page, page.getByRole('button', { name: 'Dismiss War Room' }), timeout);
    await expectNotice(page, 'Dismissing the war room');
  });
  const entries = await step('the timeline shows every step with its actor', TIMEOUTS.room, async (timeout) => {
    try {
      await page.waitForFunction(() => [...document.querySelectorAll('#live ol.timeline .action')].some((a) => a.textContent.trim() === 'War room dismissed'), null, { timeout });
    } catch (e) { /* reported below with what the page shows */ }
    const rows = await page.locator('#live ol.timeline li').evaluateAll((lis) => lis.map((li) => ({
      action: li.querySelector('.action')?.textContent.trim() || '',
      actor: li.querySelector('.actor')?.textContent.trim() || '',
      detail: li.querySelector('.detail')?.textContent.trim() || '',
    })));
    const lines = rows.map((r) => `${r.action} · by ${r.actor || '(nobody)'}${r.detail ? ` · ${r.detail}` : ''}`);
    // Each step, and who did it: the source, the admin's key (the console acts as it),
    // Warroom itself, Ada clicking in the chat.
    const want = [
      ['Incident opened', /^source generic$/], ['War room requested', /^API key demo admin$/], ['War room created', /^Warroom$/],
      ['Card posted', /^Warroom$/], ['Status changed', /^Ada$|user/], ['Transcript captured', /^Warroom$/], ['War room dismissed', /^API key demo admin$/],
    ];
    const missing = want.filter(([action, who]) => !rows.some((r) => r.action === action && who.test(r.actor))).map(([a, w]) => `${a} by ${w}`);
    const anonymous = rows.filter((r) => !r.actor).map((r) => r.action);
    if (missing.length || anonymous.length) {
      throw new StepError(`missing: ${missing.join('; ') || 'nothing'}; without an actor: ${anonymous.join(', ') || 'none'}; the timeline:\n    ${lines.join('\n    ')}`);
    }
    return lines;
  });
  for (const l of entries) log(`  ${l}`);
  await checkAxe(page, 'incident page, dismissed');
  await shoot(page, 'incident');

  // After a war room's life: the status page shows the integrations' health and, from this
  // process's Prometheus numbers, that war rooms opened.
  await visit(page, '/console/status', 'status');
  await step('the status page shows working integrations and the war rooms opened', TIMEOUTS.page, async () => {
    const body = await page.locator('main').innerText();
    if (!/works/.test(body)) throw new StepError(`no integration reads "works":\n${body}`);
    const opened = body.match(/War rooms opened\s*(?:\([^)]*\))?\s*(\d+)/);
    if (!opened || Number(opened[1]) < 1) throw new StepError(`war rooms opened not shown as at least 1:\n${body}`);
    log(`status page: war rooms opened ${opened[1]}`);
  });
  await shoot(page, 'status');
}

const guard = setTimeout(() => {
  console.error(`console browser test FAILED: did not finish within ${TIMEOUTS.whole / 1000} s`);
  process.exit(1);
}, TIMEOUTS.whole);

main().then(() => {
  clearTimeout(guard);
  log('PASSED');
}, (e) => {
  clearTimeout(guard);
  console.error(`console browser test FAILED: ${e instanceof StepError ? e.message : (e && e.stack) || e}`);
  process.exitCode = 1;
});
