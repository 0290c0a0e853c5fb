// The console's browser test, page by page: where the stack is, how long a step may take, and
// what every page view does (axe-core at both widths, screenshots, the page's notice).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { OUT_DIR, StepError, harness } from './harness.mjs';

export const { log, step } = harness('console-test');
export const BASE = (process.env.WARROOM_URL || '').replace(/\/+$/, '');
export const TIMEOUTS = { page: 15_000, action: 20_000, room: 30_000, live: 20_000, whole: 240_000 };
export const WIDTHS = [1280, 390];
export const HEIGHT = 900;
// axe-core's own source, evaluated in the page: the console's CSP (script-src 'self') refuses
// the inline <script> that page.addScriptTag would add, and CDP evaluation is not subject to it.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// What axe found, page by page: any violation fails the run.
export const axeFindings = [];
export const axeChecked = [];

export async function checkAxe(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const violations = await page.evaluate(async (source) => {
      if (!window.axe) (0, eval)(source);
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    }, AXE_SOURCE);
    axeChecked.push(`${name} @${width}`);
    for (const v of violations) axeFindings.push(`${name} @${width}px: [${v.impact}] ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
  }
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
}

export async function shoot(page, name) {
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: HEIGHT });
    const file = path.join(OUT_DIR, `console-${name}-${width === 1280 ? 'desktop' : width}.png`);
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot: ${file}`);
  }
  await page.setViewportSize({ width: WIDTHS[0], height: HEIGHT });
}

export async function visit(page, pathname, name) {
  return step(`open ${name} (${pathname})`, TIMEOUTS.page, async (timeout) => {
    const resp = await page.goto(BASE + pathname, { waitUntil: 'domcontentloaded', timeout });
    if (!resp || !resp.ok()) throw new StepError(`GET ${pathname} answered ${resp ? resp.status() : 'nothing'}`);
    await checkAxe(page, name);
  });
}

// The id at the end of a console page's path (/console/integrations/int_…).
export const idOf = (href) => decodeURIComponent(href.split('/').pop());

// The text of the page's notice (done or refused), or "".
export async function noticeText(page) {
  return (await page.locator('main .notice').allTextContents()).join(' ').replace(/\s+/g, ' ').trim();
}

export async function expectNotice(page, want) {
  const said = await noticeText(page);
  if (!said.includes(want)) throw new StepError(`expected the page to say "${want}"; it says: ${said || '(nothing)'}`);
  return said;
}

export async function api(method, pathname, key, body) {
  const resp = await fetch(BASE + pathname, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await resp.text();
  if (!resp.ok) throw new StepError(`${method} ${pathname} answered ${resp.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export async function clickAndLoad(page, button, timeout) {
  await Promise.all([page.waitForLoadState('domcontentloaded', { timeout }), button.click({ timeout })]);
  await page.locator('main h1').waitFor({ timeout });
}
