// Rooms: each has its own page and messages; the sidebar lists them with
// what is new in each, and the one stream carries them all.
import { expect, test } from "@playwright/test";
import { signUp } from "./fixtures/accounts";
import { bubbles, CONNECTED, connectedWith, openChat, send, subtitle, unique } from "./fixtures/chat";
import { hostRoom, openNewRoom, roomLink, roomPath, unread } from "./fixtures/rooms";

test("a message in one room stays out of another, and raises its unread count elsewhere", { tag: "@release" }, async ({ browser }) => {
  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  const { room } = await hostRoom(ada);
  await expect(ada).toHaveURL(roomPath(room));
  await expect(ada).toHaveTitle(`${room} · Chat`);

  // A guest elsewhere, reading general, sees the new room listed.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob, "bob");
  await expect(roomLink(bob, room)).toBeVisible();
  await expect(unread(bob, room)).toHaveCount(0);

  const there = unique("in the new room");
  await send(ada, there);
  await expect(bubbles(ada, there)).toHaveCount(1);
  await expect(subtitle(ada)).toHaveText(connectedWith(1));
  // Not in general's list, but counted beside the room, live.
  await expect(unread(bob, room)).toHaveText("1");
  await expect(bubbles(bob, there)).toHaveCount(0);
  const inGeneral = unique("in general");
  await send(bob, inGeneral);
  await expect(bubbles(bob, inGeneral)).toHaveCount(1);
  await expect(bubbles(ada, inGeneral)).toHaveCount(0);

  // Reading the room clears its count, also after coming back.
  await roomLink(bob, room).click();
  await expect(bob).toHaveURL(roomPath(room));
  await expect(bubbles(bob, there)).toHaveCount(1);
  await expect(subtitle(bob)).toHaveText(connectedWith(1));
  await roomLink(bob, "general").click();
  await expect(subtitle(bob)).toHaveText(CONNECTED);
  await expect(bubbles(bob, inGeneral)).toHaveCount(1);
  await expect(unread(bob, room)).toHaveCount(0);

  for (const context of [adaContext, bobContext]) await context.close();
});

test("a room created in one browser is listed at once in every tab of another", { tag: "@release" }, async ({ browser }) => {
  // Bob reads general in two tabs (one holds the stream, the other hears
  // it from that one) before the room exists.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob, "bob");
  const bobsOther = await bobContext.newPage();
  await openChat(bobsOther, "bob");

  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  const { room } = await hostRoom(ada);

  // No reload: the link appears, and a message there is counted.
  for (const page of [bob, bobsOther]) await expect(roomLink(page, room)).toBeVisible();
  await send(ada, unique("first"));
  for (const page of [bob, bobsOther]) await expect(unread(page, room)).toHaveText("1");

  for (const context of [adaContext, bobContext]) await context.close();
});

test("someone new here starts with nothing unread, and what comes after counts", async ({ browser }) => {
  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  const { room } = await hostRoom(ada);
  for (const text of [unique("before one"), unique("before two")]) await send(ada, text);
  await expect(subtitle(ada)).toHaveText(connectedWith(2));

  // A browser that has never been here: the room's history is not "new".
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob, "bob");
  await expect(roomLink(bob, room)).toBeVisible();
  await expect(unread(bob, room)).toHaveCount(0);
  await send(ada, unique("after"));
  await expect(unread(bob, room)).toHaveText("1");
  // Kept for the next visit: still one, not three.
  await bob.reload();
  await expect(subtitle(bob)).toHaveText(CONNECTED);
  await expect(unread(bob, room)).toHaveText("1");

  for (const context of [adaContext, bobContext]) await context.close();
});

test("reading a room in one tab clears its count in the others, and the account keeps it", async ({ browser }) => {
  const context = await browser.newContext();
  const ada = await context.newPage();
  const { room } = await hostRoom(ada);
  // What she sends there, she has read, even leaving at once.
  const mine = unique("mine");
  await send(ada, mine);
  await expect(bubbles(ada, mine)).toHaveCount(1);
  await roomLink(ada, "general").click();
  await expect(subtitle(ada)).toHaveText(CONNECTED);
  await expect(roomLink(ada, room)).toBeVisible();
  await expect(unread(ada, room)).toHaveCount(0);
  const other = await context.newPage();
  await openChat(other);

  // Another browser sends two messages to the room: both tabs count them.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob, "bob", roomPath(room));
  for (const text of [unique("one"), unique("two")]) await send(bob, text);
  await expect(unread(ada, room)).toHaveText("2");
  await expect(unread(other, room)).toHaveText("2");

  // One tab reads the room: the other's count clears.
  await roomLink(other, room).click();
  await expect(subtitle(other)).toHaveText(connectedWith(3));
  await expect(unread(ada, room)).toHaveCount(0);

  // The position is the account's, kept by the server for its other browsers.
  await expect
    .poll(async () => {
      const directory = await (await ada.request.get("/api/rooms")).json();
      return directory.read?.[room]?.count;
    })
    .toBe(3);

  for (const c of [context, bobContext]) await c.close();
});

test("a room name that is taken or breaks the rules is refused with the rule", async ({ page }) => {
  await openChat(page);
  await signUp(page);
  await openNewRoom(page);
  await page.locator("[data-test=new-room-name]").fill("GENERAL");
  await page.locator("[data-test=create-room]").click();
  await expect(page.locator("[data-test=room-error]")).toContainText("a room with this room name exists");
  // The form comes back with the name as typed.
  await expect(page.locator("[data-test=new-room-name]")).toHaveValue("GENERAL");
  await page.locator("[data-test=new-room-name]").fill("x".repeat(41));
  await page.locator("[data-test=create-room]").click();
  await expect(page.locator("[data-test=room-error]")).toHaveText("room name must be at most 40 characters");
  await expect(page).toHaveURL("/rooms/new");
});

test("a guest may write in rooms but not create them, and an unknown room says so", async ({ page }) => {
  await openChat(page, "carol");
  await expect(page.locator("[data-test=new-room]")).toHaveCount(0);
  await page.goto("/r/no%20such%20room");
  await expect(page.locator("[data-test=no-such-room]")).toContainText("There is no room called no such room");
  await page.locator("[data-test=no-such-room] a").click();
  await expect(subtitle(page)).toHaveText(CONNECTED);
});
