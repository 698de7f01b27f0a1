// Fixing and taking back a message: edits and deletions show live in every
// browser and stay after a reload.
import { expect, test, type Locator, type Page } from "@playwright/test";
import { signUp } from "./fixtures/accounts";
import { bubbles, openChat, send, sendError, textInput, unique } from "./fixtures/chat";

/** The bubble of the message with this id. */
const bubble = (page: Page, id: string): Locator => page.locator(`[data-test=message][data-id="${id}"]`);

/** Sends `text` and waits until it is stored; returns its id. */
async function sent(page: Page, text: string): Promise<string> {
  await send(page, text);
  const stored = bubbles(page, text);
  await expect(stored).toHaveCount(1);
  const id = await stored.getAttribute("data-id");
  if (!id) throw new Error("a stored message has an id");
  return id;
}

test("an edit and a deletion show live in another browser and survive a reload", { tag: "@release" }, async ({ browser }) => {
  const adaContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const ada = await adaContext.newPage();
  const bob = await bobContext.newPage();
  await openChat(ada);
  await openChat(bob, unique("bob"));
  await signUp(ada);

  const typo = unique("helo");
  const id = await sent(ada, typo);
  await expect(bubble(bob, id)).toContainText(typo);

  // Edit from the message's own button.
  await bubble(ada, id).hover();
  await bubble(ada, id).locator("[data-test=edit-message]").click();
  await expect(textInput(ada)).toHaveValue(typo);
  const fixed = unique("hello");
  await textInput(ada).fill(fixed);
  await textInput(ada).press("Enter");
  for (const page of [ada, bob]) {
    await expect(bubble(page, id).locator("[data-test=message-text]")).toHaveText(fixed);
    await expect(bubble(page, id).locator("[data-test=edited-mark]")).toBeVisible();
  }
  await expect(textInput(ada)).toHaveValue("");
  // The author sees what the edit replaced; nobody else may ask.
  await bubble(ada, id).locator("[data-test=edited-mark]").click();
  await expect(bubble(ada, id).locator("[data-test=version]")).toHaveText([typo]);
  await expect(bubble(bob, id).locator("[data-test=edited-mark]")).toBeDisabled();

  // Delete, confirming first.
  await bubble(ada, id).hover();
  await bubble(ada, id).locator("[data-test=delete-message]").click();
  await bubble(ada, id).locator("[data-test=confirm-delete]").click();
  for (const page of [ada, bob]) {
    await expect(bubble(page, id).locator("[data-test=message-deleted]")).toHaveText("Message deleted");
    await expect(bubble(page, id).locator("[data-test=message-text]")).toHaveCount(0);
  }

  // A reload shows each message as it now is.
  await bob.reload();
  await expect(bubble(bob, id).locator("[data-test=message-deleted]")).toHaveText("Message deleted");
  await expect(bob.getByText(fixed)).toHaveCount(0);
  await adaContext.close();
  await bobContext.close();
});

test("the Up key edits the last message, Escape cancels, and a guest is told to sign in", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page, unique("guest"));
  const guests = unique("as a guest");
  const guestId = await sent(page, guests);
  // A guest's message is nobody's to edit.
  await textInput(page).press("ArrowUp");
  await expect(sendError(page)).toHaveText("Sign in to edit your messages.");
  await expect(bubble(page, guestId).locator("[data-test=sign-in-to-edit]")).toHaveText(
    "Sign in to edit your messages",
  );
  await expect(bubble(page, guestId).locator("[data-test=edit-message]")).toBeHidden();

  await signUp(page);
  const first = unique("first");
  await sent(page, first);
  const last = unique("last");
  const lastId = await sent(page, last);
  await textInput(page).press("ArrowUp");
  await expect(textInput(page)).toHaveValue(last);
  await expect(page.locator("[data-test=editing-note]")).toBeVisible();
  await textInput(page).press("Escape");
  await expect(textInput(page)).toHaveValue("");
  await expect(page.locator("[data-test=editing-note]")).toBeHidden();
  await expect(bubble(page, lastId).locator("[data-test=message-text]")).toHaveText(last);
  await expect(bubble(page, lastId).locator("[data-test=edited-mark]")).toHaveCount(0);

  // An edit that breaks the rules is refused with the reason; nothing changes.
  await textInput(page).press("ArrowUp");
  await textInput(page).fill("   ");
  await textInput(page).press("Enter");
  await expect(sendError(page)).not.toBeEmpty();
  await textInput(page).fill(`${last} (fixed)`);
  await textInput(page).press("Enter");
  await expect(bubble(page, lastId).locator("[data-test=message-text]")).toHaveText(`${last} (fixed)`);
  await context.close();
});

test("two tabs of one browser stay in step through edits and deletions", async ({ browser }) => {
  const context = await browser.newContext();
  const one = await context.newPage();
  const two = await context.newPage();
  await openChat(one);
  await signUp(one);
  await openChat(two);
  const text = unique("in step");
  const id = await sent(one, text);
  await expect(bubble(two, id)).toContainText(text);
  // From the second tab this time: the change comes back through the leader.
  await bubble(two, id).hover();
  await bubble(two, id).locator("[data-test=edit-message]").click();
  await textInput(two).fill(`${text} (edited)`);
  await textInput(two).press("Enter");
  await expect(bubble(one, id).locator("[data-test=message-text]")).toHaveText(`${text} (edited)`);
  await bubble(one, id).hover();
  await bubble(one, id).locator("[data-test=delete-message]").click();
  await bubble(one, id).locator("[data-test=confirm-delete]").click();
  await expect(bubble(two, id).locator("[data-test=message-deleted]")).toBeVisible();
  await context.close();
});

/** The chip of `reaction` under the message with this id. */
const chip = (page: Page, id: string, reaction: string): Locator =>
  bubble(page, id).locator(`[data-test=reaction][data-reaction="${reaction}"]`);

test("reactions count each person once, show who gave them, and follow every browser", { tag: "@release" }, async ({ browser }) => {
  const adaContext = await browser.newContext();
  const bobContext = await browser.newContext();
  const ada = await adaContext.newPage();
  const bob = await bobContext.newPage();
  await openChat(ada);
  const guestName = unique("bob").slice(0, 20);
  await openChat(bob, guestName);
  const adaName = await signUp(ada);
  const id = await sent(ada, unique("ship it?"));

  // Ada picks one from the picker.
  await bubble(ada, id).hover();
  await bubble(ada, id).locator("[data-test=add-reaction]").click();
  await bubble(ada, id).locator("[data-test=pick-reaction]", { hasText: "👍" }).click();
  await expect(chip(ada, id, "👍")).toHaveAttribute("aria-pressed", "true");
  await expect(chip(bob, id, "👍").locator("[data-test=reaction-count]")).toHaveText("1");
  await expect(chip(bob, id, "👍")).toHaveAttribute("aria-pressed", "false");

  // Bob, a guest, adds his to hers by clicking it.
  await chip(bob, id, "👍").click();
  for (const page of [ada, bob]) {
    await expect(chip(page, id, "👍").locator("[data-test=reaction-count]")).toHaveText("2");
    await expect(chip(page, id, "👍")).toHaveAttribute("title", `${adaName}, ${guestName} (guest)`);
  }
  await expect(chip(bob, id, "👍")).toHaveAttribute("aria-pressed", "true");

  // A word of one's own.
  await bubble(bob, id).hover();
  await bubble(bob, id).locator("[data-test=add-reaction]").click();
  await bubble(bob, id).locator("[data-test=own-reaction]").fill("nice");
  await bubble(bob, id).locator("[data-test=own-reaction]").press("Enter");
  await expect(chip(ada, id, "nice").locator("[data-test=reaction-count]")).toHaveText("1");

  // Clicking one's own again takes it back.
  await chip(ada, id, "👍").click();
  await expect(chip(bob, id, "👍").locator("[data-test=reaction-count]")).toHaveText("1");
  await expect(chip(ada, id, "👍")).toHaveAttribute("aria-pressed", "false");

  await ada.reload();
  await expect(chip(ada, id, "👍").locator("[data-test=reaction-count]")).toHaveText("1");
  await expect(chip(ada, id, "nice")).toHaveAttribute("title", `${guestName} (guest)`);
  await adaContext.close();
  await bobContext.close();
});

test("a reply quotes what it answers; its quote brings back an original not loaded yet", async ({ browser, request }) => {
  const adaContext = await browser.newContext();
  const ada = await adaContext.newPage();
  await openChat(ada);
  const adaName = await signUp(ada);
  const question = unique("which release?");
  const questionId = await sent(ada, question);
  for (let i = 0; i < 55; i++) {
    const response = await request.post("/api/messages", { data: { username: "filler", text: `${question} filler ${i}` } });
    expect(response.status()).toBe(201);
  }
  // Reply from the original's own button.
  await bubble(ada, questionId).hover();
  await bubble(ada, questionId).locator("[data-test=reply]").click();
  await expect(ada.locator("[data-test=replying-note]")).toContainText(`Replying to ${adaName}: ${question}`);
  const answer = unique("the next one");
  await textInput(ada).fill(answer);
  await textInput(ada).press("Enter");
  await expect(ada.locator("[data-test=replying-note]")).toBeHidden();
  await expect(bubbles(ada, answer)).toHaveCount(1);
  const answerId = await bubbles(ada, answer).getAttribute("data-id");
  if (!answerId) throw new Error("stored");
  await expect(bubble(ada, answerId).locator("[data-test=quote]")).toHaveText(`${adaName}: ${question}`);

  // A reader whose page starts after the question follows the quote to it.
  const bobContext = await browser.newContext();
  const bob = await bobContext.newPage();
  await openChat(bob, unique("bob"));
  await expect(bubble(bob, answerId).locator("[data-test=quote]")).toHaveText(`${adaName}: ${question}`);
  await expect(bubble(bob, questionId)).toHaveCount(0);
  await bubble(bob, answerId).locator("[data-test=quote]").click();
  await expect(bubble(bob, questionId)).toBeInViewport();
  await expect(bubble(bob, questionId)).toHaveClass(/highlighted/);

  // The original deleted: the quote says so, in every page at once.
  await bubble(ada, questionId).scrollIntoViewIfNeeded();
  await bubble(ada, questionId).hover();
  await bubble(ada, questionId).locator("[data-test=delete-message]").click();
  await bubble(ada, questionId).locator("[data-test=confirm-delete]").click();
  for (const page of [ada, bob]) {
    await expect(bubble(page, answerId).locator("[data-test=quote]")).toHaveText(`${adaName}: Message deleted`);
  }
  await adaContext.close();
  await bobContext.close();
});

test("links open apart with the right rel, formatting shows, and markup stays text", async ({ page }) => {
  await openChat(page, unique("fmt"));
  const tag = unique("fmt");
  await send(page, `**${tag}** see https://example.com/${tag.replace(/ /g, "-")} and <b>not bold</b>`);
  const message = page.locator("[data-test=message]").filter({ hasText: tag }).last();
  await expect(message.locator("strong")).toHaveText(tag);
  const link = message.locator("a");
  await expect(link).toHaveAttribute("rel", "noopener noreferrer nofollow ugc");
  await expect(link).toHaveAttribute("target", "_blank");
  await expect(link).toHaveAttribute("href", `https://example.com/${tag.replace(/ /g, "-")}`);
  await expect(message.locator("b")).toHaveCount(0);
  await expect(message).toContainText("<b>not bold</b>");
  // A script's link is no link.
  await send(page, `[click](javascript:alert(1)) ${tag} 2`);
  const hostile = page.locator("[data-test=message]").filter({ hasText: `${tag} 2` });
  await expect(hostile).toContainText("click");
  await expect(hostile.locator("a")).toHaveCount(0);
  await page.reload();
  await expect(page.locator("[data-test=message]").filter({ hasText: tag }).first().locator("strong")).toHaveText(tag);
});

test("a change made offline waits, goes out when the connection returns, and a refused one can be discarded", async ({ browser }) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await openChat(page);
  await signUp(page);
  const text = unique("offline");
  const id = await sent(page, text);
  await context.setOffline(true);
  await bubble(page, id).hover();
  await bubble(page, id).locator("[data-test=edit-message]").click();
  await textInput(page).fill(`${text} (edited offline)`);
  await textInput(page).press("Enter");
  await expect(bubble(page, id).locator("[data-test=change-status]")).toHaveText("Waiting for the connection…");
  await context.setOffline(false);
  await expect(bubble(page, id).locator("[data-test=message-text]")).toHaveText(`${text} (edited offline)`);
  await expect(bubble(page, id).locator("[data-test=change-status]")).toHaveCount(0);

  // Deleted elsewhere while this edit waited: refused, it says why, and
  // can be given up.
  await context.setOffline(true);
  await bubble(page, id).hover();
  await bubble(page, id).locator("[data-test=edit-message]").click();
  await textInput(page).fill(`${text} (too late)`);
  await textInput(page).press("Enter");
  await expect(bubble(page, id).locator("[data-test=change-status]")).toHaveText("Waiting for the connection…");
  // The page's own API client shares the session and is not offline.
  const deleted = await page.request.delete(`/api/messages/${id}`);
  expect(deleted.status()).toBe(200);
  await context.setOffline(false);
  await expect(bubble(page, id).locator("[data-test=message-deleted]")).toBeVisible();
  const status = bubble(page, id).locator("[data-test=change-status]");
  await expect(status).toContainText("Not saved: this message was deleted");
  await status.locator("[data-test=discard-change]").click();
  await expect(status).toHaveCount(0);
  await context.close();
});
