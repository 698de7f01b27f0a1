// Many tabs of one browser share one event stream.
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { bubbles, openChat, send, unique } from "./fixtures/chat";

async function openTabs(context: BrowserContext, count: number): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < count; i++) {
    const page = await context.newPage();
    await openChat(page, `tab${i}`);
    pages.push(page);
  }
  return pages;
}

async function leaders(pages: Page[]): Promise<Page[]> {
  const roles = await Promise.all(pages.map((page) => page.locator("main").getAttribute("data-tab-role")));
  return pages.filter((_, i) => roles[i] === "leader");
}

test("ten tabs of one browser stay live and can all send", async ({ browser }) => {
  const context = await browser.newContext();
  // More tabs than the browser's six connections per host.
  const pages = await openTabs(context, 10);
  expect(await leaders(pages)).toHaveLength(1);

  for (const from of [0, 9, 4]) {
    const text = unique(`from tab ${from}`);
    await send(pages[from], text);
    for (const page of pages) await expect(bubbles(page, text)).toHaveCount(1);
  }
  await context.close();
});

test("when the leader tab closes, another takes over without losing a message", async ({ browser }) => {
  const context = await browser.newContext();
  const pages = await openTabs(context, 4);
  const [leader] = await leaders(pages);
  expect(leader).toBeDefined();
  const others = pages.filter((page) => page !== leader);

  const before = unique("before the leader left");
  await send(others[0], before);
  for (const page of others) await expect(bubbles(page, before)).toHaveCount(1);

  await leader.close();
  // Another browser writes while the tabs elect a new leader.
  const elsewhere = await browser.newContext();
  const writer = await elsewhere.newPage();
  await openChat(writer, "bob");
  const during = [unique("during the handover"), unique("also during")];
  for (const text of during) await send(writer, text);

  await expect.poll(async () => (await leaders(others)).length).toBe(1);
  const after = unique("after the handover");
  await send(writer, after);
  for (const page of others) {
    for (const text of [...during, after]) await expect(bubbles(page, text)).toHaveCount(1);
    await expect(bubbles(page, before)).toHaveCount(1);
  }
  await context.close();
  await elsewhere.close();
});
