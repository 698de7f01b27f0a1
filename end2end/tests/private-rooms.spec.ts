// Private rooms: a room its members alone see, listed live for one added
// and dropped live for one taken out.
import { expect, test } from "@playwright/test";
import { signUp } from "./fixtures/accounts";
import { bubbles, CONNECTED, openChat, send, subtitle, unique } from "./fixtures/chat";
import { createRoom, roomLink, roomName, roomPath } from "./fixtures/rooms";

test("a private room is invisible to others, appears live for a member added, and goes for one taken out", { tag: "@release" }, async ({ browser }) => {
  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  await openChat(ada);
  await signUp(ada);
  const room = roomName();
  await createRoom(ada, room, { private: true });
  await expect(ada.locator("nav.rooms li").filter({ has: roomLink(ada, room) }).locator("[data-test=private-room]")).toBeVisible();
  const secret = unique("for members");
  await send(ada, secret);
  await expect(bubbles(ada, secret)).toHaveCount(1);

  // Bob, signed in, and a guest: no link, and its page says there is no such room.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob);
  const bobName = await signUp(bob);
  const guestContext = await browser.newContext();
  const guest = await guestContext.newPage();
  await openChat(guest);
  for (const page of [bob, guest]) await expect(roomLink(page, room)).toHaveCount(0);
  const peek = await guestContext.newPage();
  const answer = await peek.goto(roomPath(room));
  expect(answer?.status()).toBe(404);
  await expect(peek.locator("[data-test=no-such-room]")).toBeVisible();
  await expect(bubbles(peek, secret)).toHaveCount(0);

  // Ada adds bob on the room's members page (linked from the room, no
  // script): his open page lists the room at once; the guest's does not.
  await expect(ada.locator("[data-test=members-link]")).toBeVisible();
  const members = await adaContext.newPage();
  await members.goto(`${roomPath(room)}/members`);
  await members.locator("[data-test=add-member-form] input[name=username]").fill(bobName);
  await members.getByRole("button", { name: "Add" }).click();
  await expect(members.locator("[data-test=member]", { hasText: bobName })).toBeVisible();
  await expect(roomLink(bob, room)).toBeVisible();
  await bob.goto(roomPath(room));
  await expect(subtitle(bob)).toHaveText(CONNECTED);
  await expect(bubbles(bob, secret)).toHaveCount(1);
  const reply = unique("from bob");
  await send(bob, reply);
  await expect(bubbles(ada, reply)).toHaveCount(1);
  await expect(roomLink(guest, room)).toHaveCount(0);

  // Taken out: his page, on the room, goes to general and lists it no more.
  await members.locator("[data-test=member]", { hasText: bobName }).getByRole("button", { name: "Remove" }).click();
  await expect(members.locator("[data-test=member]", { hasText: bobName })).toHaveCount(0);
  await expect(bob).toHaveURL(/\/$/);
  await expect(subtitle(bob)).toHaveText(CONNECTED);
  await expect(roomLink(bob, room)).toHaveCount(0);

  for (const context of [adaContext, bobContext, guestContext]) await context.close();
});
