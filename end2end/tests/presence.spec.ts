// Who is in a room and who is typing there, live, across browsers.
import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { bubbles, CONNECTED, openChat, textInput, unique } from "./fixtures/chat";
import { hostRoom, roomPath } from "./fixtures/rooms";

const presence = (page: Page) => page.locator("[data-test=presence]");
const typing = (page: Page) => page.locator("[data-test=typing]");


/** A browser whose guest is called `name` (remembered, as after a visit). */
async function guestBrowser(browser: Browser, name: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addInitScript((guest) => localStorage.setItem("chat.username", guest), name);
  return context;
}

test("presence shows who has the room open, a person with two tabs once, and drops who closes it", async ({
  browser,
}) => {
  const hostContext = await browser.newContext();
  const host = await hostContext.newPage();
  const { host: name, room } = await hostRoom(host);
  await expect(presence(host)).toHaveText(`Here: ${name}`);

  const bobName = `bob${Date.now().toString(36)}`;
  const bobContext = await guestBrowser(browser, bobName);
  const bob = await bobContext.newPage();
  await openChat(bob, undefined, roomPath(room));
  await expect(presence(host)).toHaveText(`Here: ${name} and ${bobName}`);
  await expect(presence(bob)).toHaveText(`Here: ${name} and ${bobName}`);

  // A second tab of Bob's: still one Bob.
  const bobAgain = await bobContext.newPage();
  await openChat(bobAgain, undefined, roomPath(room));
  await expect(presence(bobAgain)).toHaveText(`Here: ${name} and ${bobName}`);
  // Someone in another room is not here.
  const elsewhere = await (await guestBrowser(browser, "carol")).newPage();
  await openChat(elsewhere);
  await expect(presence(host)).toHaveText(`Here: ${name} and ${bobName}`);

  // Bob closes one tab: still here; the other: gone, within seconds.
  await bob.close();
  await expect(presence(host)).toHaveText(`Here: ${name} and ${bobName}`);
  await bobAgain.close();
  await expect(presence(host)).toHaveText(`Here: ${name}`, { timeout: 10_000 });

  await hostContext.close();
  await bobContext.close();
  await elsewhere.context().close();
});

test("typing shows in the other browser and clears once the message is sent", async ({ browser }) => {
  const hostContext = await browser.newContext();
  const host = await hostContext.newPage();
  const { host: name, room } = await hostRoom(host);

  const bobContext = await guestBrowser(browser, "bob");
  const bob = await bobContext.newPage();
  await openChat(bob, undefined, roomPath(room));
  await expect(typing(bob)).toHaveText("");

  const text = unique("typed");
  await textInput(host).pressSequentially(text.slice(0, 8));
  await expect(typing(bob)).toHaveText(`${name} is typing…`);
  // The typist does not see themselves typing.
  await expect(typing(host)).toHaveText("");
  await textInput(host).fill(text);
  await textInput(host).press("Enter");
  await expect(bubbles(bob, text)).toHaveCount(1);
  await expect(typing(bob)).toHaveText("");

  // Typing and clearing the field: it stops too.
  await textInput(host).pressSequentially("abc");
  await expect(typing(bob)).toHaveText(`${name} is typing…`);
  await textInput(host).fill("");
  await expect(typing(bob)).toHaveText("");

  // And in another room nobody sees it.
  const carol = await (await guestBrowser(browser, "carol")).newPage();
  await openChat(carol);
  await expect(carol.locator("[data-test=subtitle]")).toHaveText(CONNECTED);
  await textInput(host).pressSequentially("xyz");
  await expect(typing(bob)).toHaveText(`${name} is typing…`);
  await expect(typing(carol)).toHaveText("");

  for (const context of [hostContext, bobContext, carol.context()]) await context.close();
});
