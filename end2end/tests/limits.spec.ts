// Sending faster than the server allows: the page waits, says so, and
// every message still goes out once, in order.
import { expect, test } from "@playwright/test";
import { bubbles, openChat, textInput, unique } from "./fixtures/chat";
import { ChatServer, ownServerPort } from "./fixtures/server";

test("messages sent too fast wait their turn and are delivered once, in order", async ({ page, request }) => {
  // One message a second, a burst of two.
  const server = await ChatServer.start(ownServerPort, ["--send-limit", "1,2"]);
  try {
    await openChat(page, "ada", server.url);
    const texts = [1, 2, 3, 4, 5].map((i) => unique(`quick ${i}`));
    for (const text of texts) {
      await textInput(page).fill(text);
      await textInput(page).press("Enter");
    }
    // The third is refused for now, and the page says it is waiting.
    await expect(page.locator("[data-test=pending-message][data-state=throttled]")).toHaveCount(1);
    await expect(page.getByText("sending too fast, waiting…")).toBeVisible();

    // Then every one arrives, once, in the order typed.
    for (const text of texts) await expect(bubbles(page, text)).toHaveCount(1, { timeout: 15_000 });
    await expect(page.locator("[data-test=pending-message]")).toHaveCount(0);
    const shown = await page.locator("[data-test=message] [data-test=message-text]").allTextContents();
    expect(shown.filter((text) => texts.includes(text))).toEqual(texts);

    const stored: { text: string }[] = await (await request.get(`${server.url}/api/messages`)).json();
    expect(stored.map((message) => message.text)).toEqual(texts);
  } finally {
    await server.stop();
  }
});
