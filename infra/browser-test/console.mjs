// Browser test of the web console (/console/), as an admin would use it, against a running
// warroom-local in demo mode: sign in with the demo admin key → Integrations: the Add-integration
// form for Feishu, the Feishu integration's setup URLs → Enable War Room refused for a missing
// permission (revoked through the DingTalk sandbox's control route), with its warning and
// Re-authorize link, then accepted → Linked users: filter, search, One-Click Link → an incident
// arrives (POST /hooks/generic) → Create War Room → View War Room points at the sandbox chat
// (when the API gives the war room a chat_url: it gives none for the Feishu sandbox, which is
// logged as NOT CHECKED) → Acknowledge clicked on the card in the sandbox view → the open incident page shows
// "acknowledged" without a reload → Dismiss War Room → the timeline names every step's actor.
// axe-core checks every page it visits at 1280 and 390 px wide; a serious or critical
// violation fails the run.
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
// Exits 0 when every step passed and axe found nothing serious; otherwise prints why.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ARGS, CHROMIUM, OUT_DIR, StepError, harness, requireChromium } from './harness.mjs';

const BASE = (process.env.WARROOM_URL || '').replace(/\/+$/, '');
const TIMEOUTS = { page: 15_000, action: 20_000, room: 30_000, live: 20_000, whole: 240_000 };
const WIDTHS = [1280, 390];
const HEIGHT = 900;
// The demo apps of infra/local/src/sandboxes.rs (deterministic, sandbox-only values).
const FEISHU = { app_id: 'cli_demo0warroom01', app_secret: 'demo-feishu-app-secret', verification_token: 'demo-feishu-verification-token', encrypt_key: 'demo-feishu-encrypt-key' };
const DINGTALK_APP = 'dingdemowarroom01';
// axe-core's own source, evaluated in the page: the console's CSP (script-src 'self') refuses
// the inline <script> that page.addScriptTag would add, and CDP evaluation is not subject to it.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const { log, step } = harness('console-test');

function demoKeys() {
  if (process.env.WARROOM_ADMIN_KEY && process.env.WARROOM_INTAKE_KEY) {
    return { admin: process.env.WARROOM_ADMIN_KEY, intake: process.env.WARROOM_INTAKE_KEY };
  }
  const dir = process.env.WARROOM_DATA_DIR;
  if (!dir) throw new StepError('set WARROOM_DATA_DIR (the stack\'s data directory) or WARROOM_ADMIN_KEY and WARROOM_INTAKE_KEY');
  const keys = JSON.parse(readFileSync(path.join(dir, 'demo-keys.json'), 'utf8'));
  return { admin: keys.admin_key, intake: keys.intake_key };
}

// What axe found, page by page: only serious and critical violations fail the run.
const axeFindings = [];
const axeChecked = [];

async function checkAxe(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const violations = await page.evaluate(async (source) => {
      if (!window.axe) (0, eval)(source);
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    }, AXE_SOURCE);
    axeChecked.push(`${name} @${width}`);
    for (const v of violations) {
      const line = `${name} @${width}px: [${v.impact}] ${v.id}: ${v.help} (${v.nodes.join(', ')})`;
      if (v.impact === 'serious' || v.impact === 'critical') axeFindings.push(line);
      else log(`axe (not failing): ${line}`);
    }
  }
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
}

async function shoot(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const file = path.join(OUT_DIR, `console-${name}-${width === 1280 ? 'desktop' : width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot: ${file}`);
  }
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
}

async function visit(page, pathname, name) {
  return step(`open ${name} (${pathname})`, TIMEOUTS.page, async (timeout) => {
    const resp = await page.goto(BASE + pathname, { waitUntil: 'domcontentloaded', timeout });
    if (!resp || !resp.ok()) throw new StepError(`GET ${pathname} answered ${resp ? resp.status() : 'nothing'}`);
    await checkAxe(page, name);
  });
}

// The text of the page's notice (done or refused), or "".
async function noticeText(page) {
  return (await page.locator('main .notice').allTextContents()).join(' ').replace(/\s+/g, ' ').trim();
}

async function expectNotice(page, want) {
  const said = await noticeText(page);
  if (!said.includes(want)) throw new StepError(`expected the page to say "${want}"; it says: ${said || '(nothing)'}`);
  return said;
}

async function api(method, pathname, key, body) {
  const resp = await fetch(BASE + pathname, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  if (!resp.ok) throw new StepError(`${method} ${pathname} answered ${resp.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
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
  if (axeFindings.length) throw new StepError(`axe-core found ${axeFindings.length} serious or critical violation(s):\n    ${axeFindings.join('\n    ')}`);
}

async function run(context, page, keys) {
  await visit(page, '/console/', 'sign-in');
  await step('sign in with the admin key', TIMEOUTS.page, async (timeout) => {
    await page.getByLabel('Admin API key').fill(keys.admin);
    await Promise.all([page.waitForURL('**/console/incidents', { timeout }), page.getByRole('button', { name: 'Sign in' }).click()]);
  });

  await visit(page, '/console/integrations', 'integrations list');
  await shoot(page, 'integrations');
  const ids = await step('find the Feishu and DingTalk integrations', TIMEOUTS.page, async () => {
    const rows = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      platform: tr.querySelector('[data-label="Platform"]')?.textContent.trim(),
      href: tr.querySelector('a')?.getAttribute('href'),
    })));
    const find = (p) => rows.find((r) => r.platform === p)?.href;
    const feishu = find('Feishu / Lark');
    const dingtalk = find('DingTalk');
    if (!feishu || !dingtalk) throw new StepError(`the list shows ${JSON.stringify(rows)}`);
    return { feishu, dingtalk };
  });

  await addFeishu(page);
  await readSetupUrls(page, ids.feishu);
  await refusedThenAccepted(page, ids.dingtalk);
  await moveWarRoomsTo(page, ids.feishu);
  await linkedUsers(page, ids.feishu);

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

async function addFeishu(page) {
  await visit(page, '/console/integrations', 'integrations list');
  await step('open Add integration for Feishu', TIMEOUTS.page, async (timeout) => {
    await Promise.all([page.waitForURL('**/console/integrations/new?platform=feishu', { timeout }),
      page.getByRole('link', { name: /Connect a Feishu \/ Lark app/ }).click()]);
  });
  await checkAxe(page, 'add-integration form');
  // The sandbox has one Feishu app and no control route to make another, and the demo has
  // connected it already: the form is sent with its real credentials and the API's answer
  // (connected, or refused because the app is taken) must be on the page.
  const said = await step('send the Feishu form with the sandbox app\'s credentials', TIMEOUTS.action, async (timeout) => {
    await page.getByLabel(/^Name/).fill('Feishu (console test)');
    for (const [name, value] of Object.entries(FEISHU)) {
      const input = page.locator(`form input[name="${name}"]`);
      if (await input.count()) await input.fill(value);
    }
    await Promise.all([page.waitForLoadState('domcontentloaded', { timeout }), page.getByRole('button', { name: /Connect Feishu/ }).click()]);
    await page.locator('main .notice').first().waitFor({ timeout });
    return noticeText(page);
  });
  log(`the console says: ${said}`);
  await checkAxe(page, 'add-integration answer');
  const next = page.locator('main .notice.next a');
  if (await next.count()) {
    await step(`follow "${await next.textContent()}"`, TIMEOUTS.page, (timeout) => clickAndLoad(page, next, timeout));
    log(`now on ${page.url()}`);
  }
}

async function readSetupUrls(page, href) {
  await visit(page, href, 'integration detail (Feishu)');
  const urls = await step('read the setup URLs', TIMEOUTS.page, async () => {
    const found = await page.locator('input[id^="setup-"]').evaluateAll((inputs) => inputs.map((i) => ({
      label: document.querySelector(`label[for="${i.id}"]`)?.textContent.trim(), value: i.value,
    })));
    if (!found.length) throw new StepError('the page shows no setup URL');
    const bad = found.filter((u) => !u.value.startsWith(BASE));
    if (bad.length) throw new StepError(`URLs not on ${BASE}: ${JSON.stringify(bad)}`);
    return found;
  });
  for (const u of urls) log(`  ${u.label}: ${u.value}`);
}

// The permissions a DingTalk war room needs, as the detail page lists them.
async function requiredPermissions(page) {
  return page.locator('td[data-label="Permission"] code').allTextContents();
}

async function setDingTalkPermissions(permissions) {
  const resp = await fetch(`${BASE}/sandbox/control/dingtalk/permissions`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ app: DINGTALK_APP, permissions }),
  });
  if (!resp.ok) throw new StepError(`POST /sandbox/control/dingtalk/permissions answered ${resp.status}: ${await resp.text()}`);
}

async function clickAndLoad(page, button, timeout) {
  await Promise.all([page.waitForLoadState('domcontentloaded', { timeout }), button.click({ timeout })]);
  await page.locator('main h1').waitFor({ timeout });
}

// Feishu's sandbox cannot take a scope back over HTTP (FeishuSandbox::set_scopes has no
// control route); DingTalk's can, so the missing-permission refusal is shown on DingTalk.
async function refusedThenAccepted(page, href) {
  await visit(page, href, 'integration detail (DingTalk)');
  const required = await requiredPermissions(page);
  if (!required.length) throw new StepError('the DingTalk page lists no permission war rooms need');
  const revoked = required[0];
  await step(`revoke ${revoked} in the DingTalk sandbox, then Enable War Room`, TIMEOUTS.action, async (timeout) => {
    await setDingTalkPermissions(required.slice(1));
    await clickAndLoad(page, page.getByRole('button', { name: 'Enable War Room' }), timeout);
    const warning = page.locator('.warning[role="alert"]');
    await warning.waitFor({ timeout });
    const text = (await warning.textContent()).replace(/\s+/g, ' ');
    if (!text.includes('War rooms need permissions this app lacks') || !text.includes(revoked)) throw new StepError(`the warning says: ${text}`);
    const reauth = await warning.getByRole('link', { name: 'Re-authorize' }).getAttribute('href');
    if (!reauth) throw new StepError('the warning has no Re-authorize link');
    log(`refused: ${text.trim()} (Re-authorize → ${reauth})`);
  });
  await checkAxe(page, 'integration detail, missing permission');
  await shoot(page, 'integration-missing-permission');
  await step(`grant ${revoked} again, then Enable War Room`, TIMEOUTS.action, async (timeout) => {
    await setDingTalkPermissions(required);
    await clickAndLoad(page, page.getByRole('button', { name: 'Enable War Room' }), timeout);
    await acceptMove(page, timeout);
  });
}

// Enabling when another integration has war rooms is refused with an offer to move them.
async function acceptMove(page, timeout) {
  let said = await noticeText(page);
  if (said.includes('already enabled on integration')) {
    log(`refused: ${said}`);
    await checkAxe(page, 'integration detail, war rooms elsewhere');
    await clickAndLoad(page, page.getByRole('button', { name: 'Move war rooms to this integration' }), timeout);
    said = await noticeText(page);
  }
  if (!/War rooms (are enabled|moved)/.test(said)) throw new StepError(`the page says: ${said}`);
  log(`accepted: ${said}`);
  const on = (await page.locator('main p', { hasText: 'War rooms are' }).last().textContent()).replace(/\s+/g, ' ');
  if (!on.includes('are on')) throw new StepError(`the page says: ${on}`);
}

async function moveWarRoomsTo(page, href) {
  await visit(page, href, 'integration detail (Feishu)');
  await step('Enable War Room on Feishu', TIMEOUTS.action, async (timeout) => {
    if (await page.getByRole('button', { name: 'Disable War Room' }).count()) return log('war rooms are already on Feishu');
    await clickAndLoad(page, page.getByRole('button', { name: 'Enable War Room' }), timeout);
    await acceptMove(page, timeout);
  });
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
  const id = decodeURIComponent(href.split('/').pop());
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
  if (chatUrl === null) {
    // The API gives no chat_url for a sandbox chat (the Feishu adapter links only to
    // applink.feishu.cn / larksuite.com, and the sandbox view has no address per chat), so the
    // console rightly shows no link: said loudly, not failed, until the adapter gives one.
    log(`NOT CHECKED: the API gives no chat_url for this sandbox war room, so there is no View War Room link (chat ${await page.locator('#live [data-chat-id]').getAttribute('data-chat-id').catch(() => '?')})`);
  } else {
    await step('View War Room points at the sandbox chat', TIMEOUTS.page, async () => {
      if (!chatUrl.startsWith(`${BASE}/sandbox/`)) throw new StepError(`it points at ${chatUrl}`);
      log(`View War Room → ${chatUrl}`);
    });
  }
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
