// Messages reach every open page live, exactly once.
import { expect, test } from "@playwright/test";
import { bubbles, connectedWith, messageCount, openChat, pendingBubble, send, subtitle, unique } from "./fixtures/chat";

test("a message sent in one browser appears in another without reload", { tag: "@release" }, async ({ browser }) => {
  const alice = await browser.newContext();
  const bob = await browser.newContext();
  const alicePage = await alice.newPage();
  const bobPage = await bob.newPage();
  await openChat(alicePage, "alice");
  await openChat(bobPage, "bob");

  const text = unique("hello bob");
  await send(alicePage, text);

  await expect(bubbles(bobPage, text)).toHaveCount(1);
  await expect(bubbles(bobPage, text).locator("[data-test=message-username]")).toHaveText("alice");
  await expect(bubbles(alicePage, text)).toHaveCount(1);
  await alice.close();
  await bob.close();
});

test("the sender sees its own message exactly once", { tag: "@release" }, async ({ page }) => {
  await openChat(page, "ada");
  const text = unique("only once");
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  // Once the next message is in, both the reply to the first and its
  // stream event have arrived (sends go out in order, the stream is in id
  // order): still one bubble.
  const marker = unique("marker");
  await send(page, marker);
  await expect(bubbles(page, marker)).toHaveCount(1);
  await expect(pendingBubble(page, marker)).toHaveCount(0);
  await expect(bubbles(page, text)).toHaveCount(1);
});

test("the subtitle counts the chat's messages, and one more when one arrives", async ({ page, browser }) => {
  await openChat(page, "ada");
  const before = await messageCount(page);
  const shown = await page.locator("[data-test=message]").count();
  expect(before).toBeGreaterThanOrEqual(shown);
  await send(page, unique("count me"));
  await expect(subtitle(page)).toHaveText(connectedWith(before + 1));

  // Someone else's message counts too.
  const context = await browser.newContext();
  const other = await context.newPage();
  await openChat(other, "bob");
  await expect(subtitle(other)).toHaveText(connectedWith(before + 1));
  await send(other, unique("count me too"));
  await expect(subtitle(page)).toHaveText(connectedWith(before + 2));
  await context.close();
});

test("message times are shown in the browser's time zone", async ({ browser }) => {
  const context = await browser.newContext({ timezoneId: "Asia/Kolkata" });
  const page = await context.newPage();
  await openChat(page, "ada");
  const text = unique("what time");
  await send(page, text);
  const time = bubbles(page, text).locator("[data-test=message-time]");
  const iso = await time.getAttribute("datetime");
  const expected = new Date(iso!).toLocaleTimeString("en-GB", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Kolkata",
  });
  await expect(time).toHaveText(expected);
  await context.close();
});

test("the newest message stays in view as messages arrive", async ({ page, request }) => {
  await openChat(page, "ada");
  const tag = unique("flood");
  for (let i = 0; i < 40; i++) {
    await request.post("/api/messages", { data: { username: "bob", text: `${tag} #${i}` } });
  }
  await expect(bubbles(page, `${tag} #39`)).toBeInViewport();
  await expect(page.locator("[data-test=new-messages]")).toBeHidden();
});
