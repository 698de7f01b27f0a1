// The page recovers by itself: server restarts, going offline.
import { expect, test } from "@playwright/test";
import { bubbles, CONNECTED, openChat, pendingBubble, send, subtitle, unique } from "./fixtures/chat";
import { ChatServer, ownServerPort } from "./fixtures/server";

test("a tab stays live through a server restart and shows what it missed exactly once", async ({ page }) => {
  const server = await ChatServer.start(ownServerPort);
  try {
    await openChat(page, "ada", server.url);
    await server.send("bob", unique("before the restart"));

    await server.stop();
    await expect(subtitle(page)).toHaveText("Reconnecting…");
    await server.restart();
    // Sent by another client before the tab is back.
    const missed = [unique("while you were away"), unique("and this too")];
    for (const text of missed) await server.send("bob", text);

    await expect(subtitle(page)).toHaveText(CONNECTED, { timeout: 20_000 });
    for (const text of missed) await expect(bubbles(page, text)).toHaveCount(1);

    // And it is live again.
    const after = unique("after the restart");
    await server.send("bob", after);
    await expect(bubbles(page, after)).toHaveCount(1);
    // The stream is in id order: a second copy of a missed message would
    // have come before this one.
    const marker = unique("marker");
    await server.send("bob", marker);
    await expect(bubbles(page, marker)).toHaveCount(1);
    for (const text of missed) await expect(bubbles(page, text)).toHaveCount(1);
  } finally {
    await server.stop();
  }
});

test("a message sent while offline is delivered once when the connection returns", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const observerContext = await browser.newContext();
  const observer = await observerContext.newPage();
  await openChat(page, "ada");
  await openChat(observer, "bob");

  await context.setOffline(true);
  await expect(subtitle(page)).toHaveText("Disconnected");
  const text = unique("sent offline");
  await send(page, text);
  await expect(pendingBubble(page, text)).toHaveAttribute("data-state", "queued");
  // Meanwhile somebody else writes.
  const meanwhile = unique("written meanwhile");
  await send(observer, meanwhile);
  await expect(bubbles(observer, meanwhile)).toHaveCount(1);

  await context.setOffline(false);
  await expect(subtitle(page)).toHaveText(CONNECTED);
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(pendingBubble(page, text)).toHaveCount(0);
  await expect(bubbles(page, meanwhile)).toHaveCount(1);
  await expect(bubbles(observer, text)).toHaveCount(1);
  // Sent after it by the same page: a second copy would come first.
  const marker = unique("marker");
  await send(page, marker);
  await expect(bubbles(observer, marker)).toHaveCount(1);
  await expect(bubbles(page, marker)).toHaveCount(1);
  await expect(bubbles(observer, text)).toHaveCount(1);
  await expect(bubbles(page, text)).toHaveCount(1);
  await context.close();
  await observerContext.close();
});
