// Earlier messages: kept across reloads and rendered by the server.
import { expect, test } from "@playwright/test";
import { bubbles, openChat, send, unique } from "./fixtures/chat";

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
  await expect(noScript.locator("[data-test=subtitle]")).toHaveText("Disconnected");
  await context.close();
});
