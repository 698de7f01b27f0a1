// Typing and sending: Enter, clearing, blank fields, errors, the remembered name.
import { expect, test } from "@playwright/test";
import {
  bubbles,
  connectedWith,
  messageCount,
  openChat,
  pendingBubble,
  send,
  sendButton,
  sendError,
  subtitle,
  textInput,
  unique,
  usernameInput,
} from "./fixtures/chat";

test("Enter sends and the text field clears", async ({ page }) => {
  await openChat(page, "ada");
  const text = unique("sent with enter");
  await textInput(page).fill(text);
  await textInput(page).press("Enter");
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(textInput(page)).toHaveValue("");
});

test("blank fields send nothing", async ({ page }) => {
  await openChat(page);
  const before = await messageCount(page);
  const requests: string[] = [];
  page.on("request", (request) => {
    if (request.method() === "POST") requests.push(request.url());
  });

  await usernameInput(page).fill("   ");
  await send(page, "no name");
  await usernameInput(page).fill("ada");
  await send(page, "   ");
  await textInput(page).press("Enter");
  await expect(textInput(page)).toHaveValue("   ");

  // Then one that goes out: sends leave in order, so had any blank one
  // gone, it would have been before this one, and counted.
  const sent = unique("after the blanks");
  await send(page, sent);
  await expect(bubbles(page, sent)).toHaveCount(1);
  await expect(subtitle(page)).toHaveText(connectedWith(before + 1));
  expect(requests.filter((url) => url.includes("send_message"))).toHaveLength(1);
});

test("a rejected message shows its error and is not shown as sent", async ({ page }) => {
  await openChat(page, "ada");
  const before = await messageCount(page);
  const tooLong = "x".repeat(2001);
  await send(page, tooLong);
  await expect(sendError(page)).toHaveText("text must be at most 2000 characters");
  await expect(textInput(page)).toHaveValue(tooLong);
  expect(await messageCount(page)).toBe(before);

  // The error goes away with the next successful send.
  const text = unique("shorter");
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(sendError(page)).toBeHidden();
});

test("a sent message shows at once as pending, then as sent", async ({ page }) => {
  await openChat(page, "ada");
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/api/send_message*", async (route) => {
    await held;
    await route.continue();
  });
  const text = unique("on its way");
  await send(page, text);
  await expect(pendingBubble(page, text)).toHaveAttribute("data-state", "sending");
  await expect(textInput(page)).toHaveValue("");
  release();
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(pendingBubble(page, text)).toHaveCount(0);
});

test("a failed send shows the reason, and Retry delivers it once", async ({ page }) => {
  await openChat(page, "ada");
  await page.route("**/api/send_message*", (route) => route.abort("connectionrefused"));
  const text = unique("lost in transit");
  await send(page, text);
  const failed = pendingBubble(page, text);
  await expect(failed).toHaveAttribute("data-state", "failed");
  await expect(failed.locator("[data-test=failure-reason]")).toContainText("could not reach the server");
  await expect(bubbles(page, text)).toHaveCount(0);

  await page.unroute("**/api/send_message*");
  await failed.getByRole("button", { name: "Retry" }).click();
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(pendingBubble(page, text)).toHaveCount(0);
});

test("the username is remembered after a reload", async ({ page }) => {
  const name = unique("grace").slice(0, 32);
  await openChat(page, name);
  await send(page, unique("remember me"));
  await expect(textInput(page)).toHaveValue("");
  await page.reload();
  await expect(usernameInput(page)).toHaveValue(name);
  await expect(sendButton(page)).toBeVisible();
});
