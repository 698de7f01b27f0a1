// Text is shown as text, never run as HTML.
import { expect, test } from "@playwright/test";
import { bubbles, openChat, send } from "./fixtures/chat";

test("markup in a message is shown literally", async ({ page, browser }) => {
  let dialogs = 0;
  page.on("dialog", (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await openChat(page, "mallory");
  const text = `<script>alert(1)</script> <b>${Date.now()}</b>`;
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(page.locator("[data-test=message-text] b")).toHaveCount(0);

  // Also when rendered by the server for a new visitor.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  otherPage.on("dialog", (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await openChat(otherPage);
  await expect(bubbles(otherPage, text)).toHaveCount(1);
  expect(dialogs).toBe(0);
  await other.close();
});
