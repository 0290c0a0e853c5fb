// The console's browser test, Integrations: the Feishu sandbox's second app connected through
// the Add-integration form, its setup URLs, Enable War Room refused for the permissions it
// lacks (warning, Re-authorize link), granted through the Feishu sandbox's control route, then
// accepted, moving war rooms from where they were; then war rooms moved to the demo's Feishu
// integration, where the rest of the test opens them.
import {
  BASE, TIMEOUTS, checkAxe, clickAndLoad, expectNotice, idOf, log, shoot, step, visit,
} from './console-pages.mjs';
import { StepError } from './harness.mjs';

// The Feishu sandbox's second app, FEISHU_SECOND_* in infra/local/src/sandboxes.rs
// (deterministic, sandbox-only values): not connected by the demo, and without the scopes in
// WITHHELD (FEISHU_SECOND_APP_WITHHELD there), so war rooms are refused until they are granted.
const SECOND_FEISHU = {
  app_id: 'cli_demo0warroom02', app_secret: 'demo-feishu-second-app-secret',
  verification_token: 'demo-feishu-second-verification-token', encrypt_key: 'demo-feishu-second-encrypt-key',
};
const WITHHELD = ['im:chat', 'contact:user.id:readonly'];
const NEW_NAME = 'Feishu (console test)';
// The URLs a Feishu app's developer console needs, by their label on the detail page.
const SETUP_LABELS = ['Card request URL', 'Event request URL', 'Redirect URL', 'Web configuration URL'];

/** Runs the integration steps; answers the demo's Feishu integration's page. */
export async function integrations(page) {
  await visit(page, '/console/integrations', 'integrations list');
  await shoot(page, 'integrations');
  const ids = await step('find the Feishu and DingTalk integrations, and the one with war rooms', TIMEOUTS.page, async () => {
    const rows = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      platform: tr.querySelector('[data-label="Platform"]')?.textContent.trim(),
      warRoom: tr.querySelector('[data-label="War room"]')?.textContent.trim(),
      href: tr.querySelector('a')?.getAttribute('href'),
    })));
    const find = (p) => rows.find((r) => r.platform === p)?.href;
    const feishu = find('Feishu / Lark');
    const dingtalk = find('DingTalk');
    // Slack's at start; wherever the sandbox view's test (ack.mjs, run first) left them.
    const withWarRooms = rows.filter((r) => r.warRoom === 'on').map((r) => r.href);
    if (!feishu || !dingtalk || withWarRooms.length !== 1) throw new StepError(`the list shows ${JSON.stringify(rows)}`);
    return { feishu, dingtalk, warRooms: withWarRooms[0] };
  });

  const added = await addFeishu(page);
  await readSetupUrls(page, added);
  await refusedThenAccepted(page, added, ids.warRooms);
  // The sandbox view clicks Feishu cards as the demo's app, to the demo integration's card
  // URL: the incident's war room must open there for the Acknowledge click to be Ada's.
  await moveWarRoomsTo(page, ids.feishu, added);
  // Axe only: a DingTalk app's page differs from Feishu's (its permissions and URLs).
  await visit(page, ids.dingtalk, 'integration detail (DingTalk)');
  return ids.feishu;
}

// From the integrations list, connects the sandbox's second Feishu app through the form;
// answers the new integration's detail page (where the console lands after connecting).
async function addFeishu(page) {
  await step('open Add integration for Feishu', TIMEOUTS.page, async (timeout) => {
    await Promise.all([page.waitForURL('**/console/integrations/new?platform=feishu', { timeout }),
      page.getByRole('link', { name: /Connect a Feishu \/ Lark app/ }).click()]);
  });
  await checkAxe(page, 'add-integration form');
  const href = await step(`connect the sandbox's second Feishu app (${SECOND_FEISHU.app_id})`, TIMEOUTS.action, async (timeout) => {
    await page.getByLabel(/^Name/).fill(NEW_NAME);
    for (const [name, value] of Object.entries(SECOND_FEISHU)) await page.locator(`form input[name="${name}"]`).fill(value, { timeout });
    await Promise.all([page.waitForLoadState('domcontentloaded', { timeout }), page.getByRole('button', { name: /Connect Feishu/ }).click()]);
    await page.locator('main .notice').first().waitFor({ timeout });
    const said = await expectNotice(page, `Connected "${NEW_NAME}"`);
    const at = new URL(page.url()).pathname;
    if (!/^\/console\/integrations\/int_[^/]+$/.test(at)) throw new StepError(`after connecting the console shows ${at}: ${said}`);
    log(`the console says: ${said} (${at})`);
    return at;
  });
  await checkAxe(page, 'integration detail (new Feishu app), connected');
  return href;
}

// The four setup URLs of the page the browser is on, each on this bundle and naming the integration.
async function readSetupUrls(page, href) {
  const id = idOf(href);
  const urls = await step('read the four setup URLs', TIMEOUTS.page, async () => {
    const found = await page.locator('input[id^="setup-"]').evaluateAll((inputs) => inputs.map((i) => ({
      label: document.querySelector(`label[for="${i.id}"]`)?.textContent.trim(), value: i.value,
    })));
    const labels = found.map((u) => u.label).sort();
    if (JSON.stringify(labels) !== JSON.stringify(SETUP_LABELS)) throw new StepError(`the page shows ${JSON.stringify(found)}; expected ${SETUP_LABELS.join(', ')}`);
    const bad = found.filter((u) => !u.value.startsWith(`${BASE}/`) || !u.value.includes(`/${id}/`));
    if (bad.length) throw new StepError(`URLs not on ${BASE} for ${id}: ${JSON.stringify(bad)}`);
    return found;
  });
  for (const u of urls) log(`  ${u.label}: ${u.value}`);
}

async function setFeishuScopes(scopes) {
  const resp = await fetch(`${BASE}/sandbox/control/feishu/scopes`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ app: SECOND_FEISHU.app_id, scopes }),
  });
  if (!resp.ok) throw new StepError(`POST /sandbox/control/feishu/scopes answered ${resp.status}: ${await resp.text()}`);
  return (await resp.json()).scopes;
}

// The permissions war rooms need as the detail page's table lists them, and whether each is granted.
async function permissionTable(page) {
  return page.locator('tbody tr:has(td[data-label="Permission"])').evaluateAll((trs) => trs.map((tr) => ({
    scope: tr.querySelector('td[data-label="Permission"] code')?.textContent.trim(),
    granted: tr.querySelector('td[data-label="Granted"]')?.textContent.trim() === 'yes',
  })));
}

const sorted = (list) => [...list].sort();
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

// On the page of the new integration (`added`); `holder` is the integration that has war rooms now.
async function refusedThenAccepted(page, added, holder) {
  const table = await permissionTable(page);
  await step('Enable War Room: refused, naming each missing permission', TIMEOUTS.action, async (timeout) => {
    const missing = table.filter((p) => !p.granted).map((p) => p.scope);
    if (!same(missing, WITHHELD)) throw new StepError(`the table shows ${JSON.stringify(missing)} missing; the sandbox app lacks ${WITHHELD.join(', ')}`);
    await clickAndLoad(page, page.getByRole('button', { name: 'Enable War Room' }), timeout);
    const warning = page.locator('.warning[role="alert"]');
    await warning.waitFor({ timeout });
    const text = (await warning.textContent()).replace(/\s+/g, ' ').trim();
    if (!text.includes('War rooms need permissions this app lacks')) throw new StepError(`the warning says: ${text}`);
    // One item per missing permission, with what it is for.
    const items = (await warning.locator('li').allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());
    const listed = items.map((t) => t.split(' — ')[0]);
    if (!same(listed, WITHHELD) || items.some((t) => !/ — \S/.test(t))) throw new StepError(`the warning lists ${JSON.stringify(items)}; expected ${WITHHELD.join(', ')}, each with its purpose`);
    const reauth = await warning.getByRole('link', { name: 'Re-authorize' }).getAttribute('href');
    if (!reauth || !reauth.includes(`/${idOf(added)}/`)) throw new StepError(`the warning's Re-authorize link is ${reauth}, not this integration's`);
    log(`refused: ${items.join('; ')} (Re-authorize → ${reauth})`);
  });
  await checkAxe(page, 'integration detail, missing permission');
  await shoot(page, 'integration-missing-permission');
  const all = table.map((p) => p.scope);
  await step(`grant ${WITHHELD.join(' and ')} in the Feishu sandbox (its control route)`, TIMEOUTS.action, async () => {
    const granted = await setFeishuScopes(all);
    if (!same(granted, all)) throw new StepError(`the sandbox answered ${JSON.stringify(granted)}`);
  });
  await step('Enable War Room again: accepted, moving war rooms here', TIMEOUTS.action, async (timeout) => {
    await clickAndLoad(page, page.getByRole('button', { name: 'Enable War Room' }), timeout);
    await acceptMove(page, timeout, holder);
    const left = (await permissionTable(page)).filter((p) => !p.granted).map((p) => p.scope);
    if (left.length) throw new StepError(`the table still shows ${left.join(', ')} missing`);
  });
  await shoot(page, 'integration-war-rooms-on');
}

// Enabling when another integration has war rooms is refused with an offer to move them; the
// refusal names the integration that has them (`holder`, its page) and links to it.
async function acceptMove(page, timeout, holder) {
  const refused = await expectNotice(page, `war room is already enabled on integration ${idOf(holder)} (`);
  const named = await page.getByRole('link', { name: 'Open the integration that has war rooms' }).getAttribute('href');
  if (named !== holder) throw new StepError(`the refusal links to ${named}, not to ${holder}`);
  log(`refused: ${refused}`);
  await checkAxe(page, 'integration detail, war rooms elsewhere');
  await clickAndLoad(page, page.getByRole('button', { name: 'Move war rooms to this integration' }), timeout);
  log(`accepted: ${await expectNotice(page, 'War rooms moved to this integration')}`);
  const on = (await page.locator('main p', { hasText: 'War rooms are' }).last().textContent()).replace(/\s+/g, ' ');
  if (!on.includes('are on')) throw new StepError(`the page says: ${on}`);
}

// War rooms from the integration at `from` to the one at `href`.
async function moveWarRoomsTo(page, href, from) {
  await visit(page, href, 'integration detail (Feishu)');
  await step('move war rooms to the demo\'s Feishu integration', TIMEOUTS.action, async (timeout) => {
    await clickAndLoad(page, page.getByRole('button', { name: 'Enable War Room' }), timeout);
    await acceptMove(page, timeout, from);
  });
}
