// Direct conversations and invite links: two people talk alone, opened
// from a message's `Message` button, with unread counts; an invite link
// lets one person in (a guest once signed in), then no one.
import { type Browser, type BrowserContext, expect, type Page, test } from "@playwright/test";
import { accountName, PASSWORD, signedInName, signUp } from "./fixtures/accounts";
import { bubbles, CONNECTED, openChat, send, subtitle, unique } from "./fixtures/chat";
import { createRoom, roomLink, roomName, roomPath } from "./fixtures/rooms";

/** A browser of its own, on the chat, signed up as a fresh account. */
async function reader(browser: Browser): Promise<{ context: BrowserContext; page: Page; name: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page);
  return { context, page, name: await signUp(page) };
}

/** The sidebar's link to the direct conversation with `person`. */
const directLink = (page: Page, person: string) =>
  page.locator("[data-test=direct-list] [data-test=room-link]", { hasText: person });

test("two people talk in a direct conversation opened from a message, with unread counts", { tag: "@release" }, async ({ browser }) => {
  const { context: adaContext, page: ada, name: adaName } = await reader(browser);
  const { context: bobContext, page: bob, name: bobName } = await reader(browser);

  // Bob writes in general; Ada answers him alone from his message.
  const hello = unique("hello from bob");
  await send(bob, hello);
  const bubble = bubbles(ada, hello);
  await expect(bubble).toHaveCount(1);
  await bubble.hover();
  await bubble.locator("[data-test=message-author]").click();
  await expect(ada.locator("[data-test=room-title]")).toHaveText(bobName);
  await expect(subtitle(ada)).toHaveText(CONNECTED);
  await expect(ada).toHaveTitle(`${bobName} · Chat`);

  // Bob's open page lists it at once, under Direct, by Ada's name; what
  // she writes there is unread for him until he opens it.
  await expect(directLink(bob, adaName)).toBeVisible();
  const secret = unique("just between us");
  await send(ada, secret);
  await expect(bubbles(ada, secret)).toHaveCount(1);
  const unreadForBob = bob
    .locator("[data-test=direct-list] li")
    .filter({ has: bob.locator("[data-test=room-link]", { hasText: adaName }) })
    .locator("[data-test=unread]");
  await expect(unreadForBob).toHaveText("1");
  await expect(bubbles(bob, secret)).toHaveCount(0);
  await directLink(bob, adaName).click();
  await expect(bob.locator("[data-test=room-title]")).toHaveText(adaName);
  await expect(bubbles(bob, secret)).toHaveCount(1);
  const reply = unique("and back");
  await send(bob, reply);
  await expect(bubbles(ada, reply)).toHaveCount(1);

  // A third person, signed in, does not see it.
  const { context: caraContext, page: cara } = await reader(browser);
  await expect(cara.locator("[data-test=direct-list] [data-test=room-link]")).toHaveCount(0);
  const answer = await cara.goto(new URL(bob.url()).pathname);
  expect(answer?.status()).toBe(404);

  for (const context of [adaContext, bobContext, caraContext]) await context.close();
});

test("an invite link lets one person join, then nobody", async ({ browser }) => {
  const { context: adaContext, page: ada } = await reader(browser);
  const room = roomName();
  await createRoom(ada, room, { private: true });

  // Ada makes a link for one use on the members page.
  const members = await adaContext.newPage();
  await members.goto(`${roomPath(room)}/members`);
  await members.locator("[data-test=invite-form] input[name=uses]").fill("1");
  await members.getByRole("button", { name: "Make an invite link" }).click();
  const link = await members.locator("[data-test=invite] input").inputValue();
  expect(link).toMatch(/\/invite\/[0-9a-f]{32}$/);

  // Bob, a guest with the chat open, opens it in another tab: asked to
  // sign in first, he makes an account on the sign-in page, comes back to
  // the invitation and joins: on to the room. His first tab follows, signed
  // in, the room listed.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob);
  const invitation = await bobContext.newPage();
  await invitation.goto(link);
  await expect(invitation.getByRole("heading")).toContainText(`#${room}`);
  await invitation.locator("[data-test=sign-in-first] a").click();
  const bobName = accountName();
  await invitation.locator("[data-test=account-username]").fill(bobName);
  await invitation.locator("[data-test=account-password]").fill(PASSWORD);
  await invitation.locator("[data-test=sign-up]").click();
  await expect(invitation).toHaveURL(/\/invite\/[0-9a-f]{32}$/);
  await invitation.getByRole("button", { name: "Join the room" }).click();
  await expect(invitation.locator("[data-test=room-title]")).toHaveText(`#${room}`);
  await expect(subtitle(invitation)).toHaveText(CONNECTED);
  await expect(signedInName(bob)).toHaveText(bobName);
  await expect(roomLink(bob, room)).toBeVisible();

  // Its one use is taken: Cara is told it is no longer valid.
  const { context: caraContext, page: cara } = await reader(browser);
  const late = await cara.goto(link);
  expect(late?.status()).toBe(404);
  await expect(cara.locator("[data-test=invite-error]")).toBeVisible();

  for (const context of [adaContext, bobContext, caraContext]) await context.close();
});

test("an account's name in presence opens a direct conversation; a guest's and the reader's are plain", async ({ browser }) => {
  const { context: adaContext, page: ada, name: adaName } = await reader(browser);
  const { context: bobContext, page: bob, name: bobName } = await reader(browser);
  // A guest whose name this browser remembers from a visit.
  const guestName = unique("guest").replace(/[^a-z0-9]/g, "");
  const guestContext = await browser.newContext();
  await guestContext.addInitScript((name) => localStorage.setItem("chat.username", name), guestName);
  const guest = await guestContext.newPage();
  await openChat(guest);

  const presence = ada.locator("[data-test=presence]");
  await expect(presence).toContainText(bobName);
  await expect(presence).toContainText(guestName);
  const buttons = presence.locator("[data-test=presence-message]");
  await expect(buttons).toHaveText([bobName]);
  await buttons.click();
  await expect(ada.locator("[data-test=room-title]")).toHaveText(bobName);
  await expect(subtitle(ada)).toHaveText(CONNECTED);
  await expect(directLink(bob, adaName)).toBeVisible();

  for (const context of [adaContext, bobContext, guestContext]) await context.close();
});
