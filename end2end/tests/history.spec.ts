// Earlier messages: kept across reloads and rendered by the server.
import { expect, test } from "@playwright/test";
import { bubbles, messageCount, messageList, openChat, send, unique } from "./fixtures/chat";

test("a reload still shows earlier messages", async ({ page }) => {
  await openChat(page, "ada");
  const text = unique("still here");
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  await page.reload();
  await openChat(page);
  await expect(bubbles(page, text)).toHaveCount(1);
});

test("the server renders the latest messages into the HTML", async ({ page, browser }) => {
  await openChat(page, "ada");
  const text = unique("server rendered");
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);

  // Without JavaScript, only the server's HTML is there.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const noScript = await context.newPage();
  await noScript.goto("/");
  await expect(bubbles(noScript, text)).toHaveCount(1);
  await expect(noScript.locator("[data-test=subtitle]")).toHaveText("Connecting…");
  await context.close();
});

test("scrolling up loads older messages without moving the view", async ({ page, request }) => {
  const tag = unique("page");
  for (let i = 0; i < 120; i++) {
    const response = await request.post("/api/messages", { data: { username: "pager", text: `${tag} #${i}` } });
    expect(response.status()).toBe(201);
  }
  await openChat(page);
  await expect(page.locator("[data-test=message]")).toHaveCount(50);
  await expect(bubbles(page, `${tag} #119`)).toBeInViewport();
  await expect(bubbles(page, `${tag} #69`)).toHaveCount(0);
  // The subtitle counts every message, not the 50 loaded.
  const total = await messageCount(page);
  expect(total).toBeGreaterThanOrEqual(120);

  await messageList(page).evaluate((list) => (list.scrollTop = 0));
  await expect(bubbles(page, `${tag} #69`)).toHaveCount(1);
  await expect(page.locator("[data-test=message]")).toHaveCount(100);
  // What was at the top before the older page came is still in view.
  await expect(bubbles(page, `${tag} #70`)).toBeInViewport();

  await messageList(page).evaluate((list) => (list.scrollTop = 0));
  await expect(bubbles(page, `${tag} #0`)).toHaveCount(1);
  // Loading older messages changes what is shown, not how many there are.
  expect(await messageCount(page)).toBe(total);
});

test("new messages below a reader who scrolled up are counted on a button", async ({ page, request }) => {
  const tag = unique("scrolled");
  for (let i = 0; i < 60; i++) {
    await request.post("/api/messages", { data: { username: "filler", text: `${tag} #${i}` } });
  }
  await openChat(page);
  const button = page.locator("[data-test=new-messages]");
  await expect(button).toBeHidden();
  await messageList(page).evaluate((list) => (list.scrollTop = 200));

  await request.post("/api/messages", { data: { username: "bob", text: `${tag} new 1` } });
  await request.post("/api/messages", { data: { username: "bob", text: `${tag} new 2` } });
  await expect(button).toHaveText("2 new messages");
  await expect(bubbles(page, `${tag} new 2`)).not.toBeInViewport();

  await button.click();
  await expect(bubbles(page, `${tag} new 2`)).toBeInViewport();
  await expect(button).toBeHidden();
});

test("each day begins with a separator: Today, and the day after, Yesterday", async ({ page }) => {
  await openChat(page, "ada");
  const text = unique("dated");
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  // Every message of this run was sent today: one day, one separator, first.
  const separators = page.locator("[data-test=day-separator]");
  await expect(separators).toHaveCount(1);
  await expect(separators).toHaveText("Today");
  await expect(messageList(page).locator("li:not([hidden])").first()).toHaveAttribute(
    "data-test",
    "day-separator",
  );

  // The same messages, seen a day later by the browser's clock.
  await page.clock.setFixedTime(Date.now() + 24 * 60 * 60 * 1000);
  await page.reload();
  await openChat(page);
  await expect(separators).toHaveText("Yesterday");
});
