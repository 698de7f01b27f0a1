// Accounts: people sign up and in on the sign-in page the header links to,
// and out from the header; their messages carry their name, and nobody
// else can speak under it.
import { expect, test, type Page } from "@playwright/test";
import { bubbles, openChat, pendingBubble, send, unique, usernameInput } from "./fixtures/chat";
import { accountName, PASSWORD, signedInName, submitAccount } from "./fixtures/accounts";
import { ChatServer, ownServerPort } from "./fixtures/server";

const senderName = (page: Page) => page.locator("[data-test=sender-name]");

test("an account's messages carry its name, and a guest cannot take it", { tag: "@release" }, async ({ browser }) => {
  const name = accountName();

  // Ada signs up and sends.
  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  await openChat(ada);
  await submitAccount(ada, "sign-up", name);
  await expect(signedInName(ada)).toHaveText(name);
  // The composer sends as the account: no free Username field.
  await expect(senderName(ada)).toHaveText(name);
  await expect(usernameInput(ada)).toHaveCount(0);
  const hello = unique("hello from an account");
  await send(ada, hello);
  await expect(bubbles(ada, hello)).toHaveCount(1);
  await expect(bubbles(ada, hello)).toHaveClass(/\bmine\b/);

  // Someone else sees it live under that name, marked as an account's.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob, "bob");
  const guestSays = unique("hello from a guest");
  await send(bob, guestSays);
  const adasBubble = bubbles(bob, hello);
  await expect(adasBubble).toHaveCount(1);
  await expect(adasBubble.locator("[data-test=message-username]")).toHaveText(name);
  await expect(adasBubble.locator("[data-test=guest-mark]")).toHaveCount(0);
  // ...while a guest's message is marked as a guest's, on every page.
  await expect(bubbles(bob, guestSays).locator("[data-test=guest-mark]")).toHaveText("guest");
  await expect(bubbles(ada, guestSays).locator("[data-test=guest-mark]")).toHaveText("guest");
  // And after a reload, from history.
  await ada.reload();
  await expect(bubbles(ada, hello).locator("[data-test=guest-mark]")).toHaveCount(0);
  await expect(bubbles(ada, guestSays).locator("[data-test=guest-mark]")).toHaveText("guest");

  // A guest in a third browser cannot speak under the name, in any case.
  const malloryContext = await browser.newContext();
  const mallory = await malloryContext.newPage();
  await openChat(mallory, name.toUpperCase());
  const impostor = unique("impostor");
  await send(mallory, impostor);
  const refused = pendingBubble(mallory, impostor);
  await expect(refused).toHaveAttribute("data-state", "failed");
  await expect(refused.locator("[data-test=failure-reason]")).toContainText("belongs to an account");
  await expect(bubbles(ada, impostor)).toHaveCount(0);

  // Nor sign up with it.
  await submitAccount(mallory, "sign-up", name, "another password");
  await expect(mallory.locator("[data-test=account-error]")).toContainText("belongs to an account");
  await expect(signedInName(mallory)).toHaveCount(0);

  for (const context of [adaContext, bobContext, malloryContext]) await context.close();
});

test("signing out in one tab signs out every tab, and signing in again returns the account", { tag: "@release" }, async ({ browser }) => {
  const name = accountName();
  const context = await browser.newContext();
  const first = await context.newPage();
  await openChat(first);
  await submitAccount(first, "sign-up", name);
  await expect(signedInName(first)).toHaveText(name);

  // A tab opened now is signed in from its first render.
  const second = await context.newPage();
  await openChat(second);
  await expect(signedInName(second)).toHaveText(name);

  await second.locator("[data-test=sign-out]").click();
  for (const page of [first, second]) {
    await expect(signedInName(page)).toHaveCount(0);
    await expect(page.locator("[data-test=open-sign-in]")).toBeVisible();
    await expect(usernameInput(page)).toBeVisible();
  }
  // Signed out, for the server too.
  expect((await context.request.get("/api/session")).status()).toBe(401);

  // A wrong password says so, and signs nobody in.
  await submitAccount(first, "sign-in", name, "not the password");
  await expect(first.locator("[data-test=account-error]")).toHaveText("wrong username or password");
  await expect(signedInName(second)).toHaveCount(0);

  // The right one signs in every tab.
  await first.locator("[data-test=account-password]").fill(PASSWORD);
  await first.locator("[data-test=sign-in]").click();
  for (const page of [first, second]) await expect(signedInName(page)).toHaveText(name);
  const back = unique("back again");
  await send(second, back);
  const bubble = bubbles(first, back);
  await expect(bubble.locator("[data-test=message-username]")).toHaveText(name);
  await expect(bubble.locator("[data-test=guest-mark]")).toHaveCount(0);
  await context.close();
});

test("where guests may not send, a guest is asked to sign in, and can once signed in", async ({ browser }) => {
  const server = await ChatServer.start(ownServerPort, ["--guests", "off", "--send-limit", "off"]);
  try {
    const context = await browser.newContext({ baseURL: server.url });
    const page = await context.newPage();
    await openChat(page);
    await expect(page.locator("[data-test=sign-in-to-send]")).toBeVisible();
    await expect(page.getByRole("button", { name: "Send" })).toBeDisabled();

    const name = accountName();
    await submitAccount(page, "sign-up", name);
    await expect(page.locator("[data-test=sign-in-to-send]")).toBeHidden();
    const text = unique("members only");
    await send(page, text);
    await expect(bubbles(page, text).locator("[data-test=message-username]")).toHaveText(name);
    await context.close();
  } finally {
    await server.stop();
  }
});
