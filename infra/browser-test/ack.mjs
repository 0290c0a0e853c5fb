// Browser test of the local stack's sandbox view, as a person would use it: open the page in
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core), fire a sample
// incident, wait for its status card, click Acknowledge, and see the card's status change to
// "acknowledged"; then move war rooms to DingTalk, then WeCom, with the page's selector and
// do the same in a DingTalk scene group and on a WeCom responder's card. Saves a screenshot of the page.
//
//   WARROOM_URL=http://127.0.0.1:3000 node infra/browser-test/ack.mjs
//
// Environment:
//   WARROOM_URL            the running warroom-local (required)
//   WARROOM_TEST_OUTPUT    where the screenshot goes (default .test-output): sandbox-ack.png,
//                          or sandbox-ack-failed.png when a step fails
//   WARROOM_SANDBOX_PAGE   the page's path (default /sandbox/)
//   CHROMIUM               the browser (default /usr/bin/chromium)
// Exits 0 when the page showed "acknowledged"; otherwise prints the step that failed and why.
import { chromium } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ARGS, CHROMIUM, OUT_DIR, StepError, harness, requireChromium } from './harness.mjs';

const BASE = (process.env.WARROOM_URL || '').replace(/\/+$/, '');
const PAGE_PATH = process.env.WARROOM_SANDBOX_PAGE || '/sandbox/';
const TIMEOUTS = { page: 15_000, state: 10_000, fire: 15_000, card: 30_000, status: 20_000, whole: 120_000 };

const { log, step } = harness('browser-test');

async function main() {
  if (!BASE) throw new StepError('WARROOM_URL is not set (the running warroom-local, e.g. http://127.0.0.1:3000)');
  requireChromium();
  mkdirSync(OUT_DIR, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'warroom-chromium-'));
  const problems = [];
  let context;
  let page;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1440, height: 1000 }, timeout: 30_000,
    });
    page = context.pages()[0] || await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    await run(page);
    const shot = path.join(OUT_DIR, 'sandbox-ack.png');
    await page.screenshot({ path: shot, fullPage: true });
    log(`screenshot: ${shot}`);
  } catch (e) {
    if (page) {
      const shot = path.join(OUT_DIR, 'sandbox-ack-failed.png');
      await page.screenshot({ path: shot, fullPage: true }).then(() => log(`screenshot of the failure: ${shot}`), () => {});
    }
    if (problems.length) e.message += `\n  the page reported:\n    ${problems.slice(-10).join('\n    ')}`;
    throw e;
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

async function run(page) {
  const url = BASE + PAGE_PATH;
  await step(`open ${url}`, TIMEOUTS.page, async (timeout) => {
    const resp = await page.goto(url, { waitUntil: 'domcontentloaded', timeout });
    if (!resp || !resp.ok()) throw new StepError(`GET ${url} answered ${resp ? resp.status() : 'nothing'}`);
  });
  await step('wait for the first state from /api/state', TIMEOUTS.state, (timeout) =>
    page.waitForFunction(() => (document.getElementById('live')?.textContent || '').startsWith('live'), null, { timeout }));

  await fireAndAcknowledge(page, null);
  for (const platform of ['dingtalk', 'wecom']) {
    await moveWarRoomsTo(page, platform);
    await fireAndAcknowledge(page, platform);
  }
}

async function moveWarRoomsTo(page, platform) {
  await step(`choose ${platform} under "War rooms open on"`, TIMEOUTS.fire, async (timeout) => {
    const select = page.getByTestId('war-room-on');
    const tag = `(${platform})`;
    await page.waitForFunction((t) => [...document.querySelectorAll('#war-room-on option')].some((o) => o.textContent.includes(t)), tag, { timeout });
    const value = await page.evaluate((t) => [...document.querySelectorAll('#war-room-on option')].find((o) => o.textContent.includes(t)).value, tag);
    await select.selectOption(value, { timeout });
    await page.waitForFunction(() => {
      const n = document.getElementById('notice');
      return n && !n.hidden && (n.textContent.startsWith('New war rooms open on') || n.classList.contains('error'));
    }, null, { timeout });
    const said = await page.getByTestId('notice').textContent();
    if (!said.startsWith('New war rooms open on')) throw new StepError(`the page says: ${said}`);
  });
}

// Fires a sample incident and acknowledges it from its card; `want` is the platform the card
// must be on (null: wherever war rooms open now).
async function fireAndAcknowledge(page, want) {
  const incident = await step('click "Fire a sample incident"', TIMEOUTS.fire, async (timeout) => {
    await page.getByRole('button', { name: 'Fire a sample incident' }).click({ timeout });
    const notice = page.getByTestId('notice');
    await page.waitForFunction(() => {
      const n = document.getElementById('notice');
      return n && !n.hidden && (n.hasAttribute('data-incident-id') || n.classList.contains('error'));
    }, null, { timeout });
    const id = await notice.getAttribute('data-incident-id');
    if (!id) throw new StepError(`the page says: ${await notice.textContent()}`);
    return id;
  });
  log(`incident ${incident}`);

  const card = page.locator(`[data-testid="card"][data-incident-id="${incident}"]`).first();
  const ack = card.getByTestId('btn-ack');
  const status = card.getByTestId('card-status');
  await step(`wait for incident ${incident}'s card with an Acknowledge button`, TIMEOUTS.card, async (timeout) => {
    await ack.waitFor({ state: 'visible', timeout });
  });
  const platform = await card.getAttribute('data-platform');
  log(`card in the ${platform} sandbox, status "${(await status.textContent())?.trim()}"`);
  if (want && platform !== want) throw new StepError(`the card of ${incident} is in the ${platform} sandbox, not ${want}`);

  await step('click Acknowledge', TIMEOUTS.status, (timeout) => ack.click({ timeout }));
  await step('wait for the card to show "acknowledged"', TIMEOUTS.status, async (timeout) => {
    try {
      await page.waitForFunction((id) => {
        const el = document.querySelector(`[data-testid="card"][data-incident-id="${id}"] [data-testid="card-status"]`);
        return el && el.textContent.trim().toLowerCase() === 'acknowledged';
      }, incident, { timeout });
    } catch (e) {
      const now = await status.textContent().catch(() => '?');
      const notice = await page.getByTestId('notice').textContent().catch(() => '');
      throw new StepError(`the status still reads "${now?.trim()}" after ${timeout / 1000} s; the page says: ${notice}`);
    }
  });
  log(`the ${platform} card shows "acknowledged"`);
}

const guard = setTimeout(() => {
  console.error(`browser test FAILED: did not finish within ${TIMEOUTS.whole / 1000} s`);
  process.exit(1);
}, TIMEOUTS.whole);

main().then(() => {
  clearTimeout(guard);
  log('PASSED');
}, (e) => {
  clearTimeout(guard);
  console.error(`browser test FAILED: ${e instanceof StepError ? e.message : (e && e.stack) || e}`);
  process.exitCode = 1;
});
