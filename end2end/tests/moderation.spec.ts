// Moderation: a moderator (made by the operator's command line) removes a
// spam message, and every other browser shows it removed at once and after
// a reload.
import { expect, test, type Locator, type Page } from "@playwright/test";
import { signUp } from "./fixtures/accounts";
import { bubbles, openChat, pendingBubble, send, unique } from "./fixtures/chat";
import { createRoom, roomName, roomPath } from "./fixtures/rooms";
import { grantRole } from "./fixtures/server";

const bubble = (page: Page, id: string): Locator => page.locator(`[data-test=message][data-id="${id}"]`);

test("a moderator removes a spam message from every browser, live and after a reload", async ({ browser }) => {
  const contexts = await Promise.all([browser.newContext(), browser.newContext(), browser.newContext()]);
  const [moderator, spammer, reader] = await Promise.all(contexts.map((context) => context.newPage()));
  await openChat(moderator);
  const name = await signUp(moderator);
  grantRole(name, "moderator");
  // The role is read while the page renders, as the session is.
  await moderator.reload();
  await openChat(spammer, unique("spam"));
  await openChat(reader, unique("reader"));

  const spam = unique("buy cheap watches");
  await send(spammer, spam);
  await expect(bubbles(spammer, spam)).toHaveCount(1);
  const id = await bubbles(spammer, spam).getAttribute("data-id");
  if (!id) throw new Error("a stored message has an id");
  for (const page of [moderator, reader]) await expect(bubble(page, id)).toContainText(spam);

  // A moderator's name is marked as such.
  const notice = unique("please keep it civil");
  await send(moderator, notice);
  const author = (text: string) => bubbles(reader, text).locator("[data-test=message-username]");
  await expect(author(notice)).toHaveAttribute("data-role", "moderator");
  await expect(author(spam)).not.toHaveAttribute("data-role");

  // Only a moderator may remove someone else's message.
  await bubble(reader, id).hover();
  await expect(bubble(reader, id).locator("[data-test=delete-message]")).toBeHidden();

  await bubble(moderator, id).hover();
  const remove = bubble(moderator, id).locator("[data-test=delete-message]");
  await expect(remove).toHaveText("Remove");
  await remove.click();
  await bubble(moderator, id).locator("[data-test=removal-reason]").fill("spam");
  await bubble(moderator, id).locator("[data-test=confirm-delete]").click();

  for (const page of [moderator, spammer, reader]) {
    await expect(bubble(page, id).locator("[data-test=message-deleted]")).toHaveText("Removed by a moderator");
    await expect(page.getByText(spam)).toHaveCount(0);
  }
  await reader.reload();
  await expect(bubble(reader, id).locator("[data-test=message-deleted]")).toHaveText("Removed by a moderator");
  await expect(reader.getByText(spam)).toHaveCount(0);

  // The audit log says who removed what, and why.
  const audit = await moderator.request.get("/api/audit?limit=1");
  expect(audit.status()).toBe(200);
  const [record] = await audit.json();
  expect(record).toMatchObject({ actor: name, action: "remove_message", message_id: Number(id), reason: "spam" });
  for (const context of contexts) await context.close();
});

test("a banned account's open page says so and can no longer send", async ({ browser }) => {
  const contexts = await Promise.all([browser.newContext(), browser.newContext()]);
  const [moderator, troll] = await Promise.all(contexts.map((context) => context.newPage()));
  await openChat(moderator);
  const name = await signUp(moderator);
  grantRole(name, "moderator");
  await openChat(troll);
  const trollName = await signUp(troll);
  const before = unique("before the ban");
  await send(troll, before);
  await expect(bubbles(moderator, before)).toHaveCount(1);

  const ban = await moderator.request.post(`/api/accounts/${trollName}/ban`, {
    data: { reason: "trolling", remove_messages: "hour" },
  });
  expect(ban.status()).toBe(200);
  const hint = troll.locator("[data-test=sign-in-to-send]");
  await expect(hint).toHaveText("You have been banned for good: trolling");
  await expect(troll.getByRole("button", { name: "Send" })).toBeDisabled();
  // What it wrote in the last hour went with it, everywhere.
  for (const page of [moderator, troll]) {
    await expect(page.getByText(before)).toHaveCount(0);
  }
  await troll.reload();
  await expect(hint).toHaveText("You have been banned for good: trolling");
  await expect(troll.getByRole("button", { name: "Send" })).toBeDisabled();
  for (const context of contexts) await context.close();
});

test("a guest blocked by name is told so, and nothing it sends is shown", async ({ browser }) => {
  const contexts = await Promise.all([browser.newContext(), browser.newContext()]);
  const [moderator, guest] = await Promise.all(contexts.map((context) => context.newPage()));
  await openChat(moderator);
  grantRole(await signUp(moderator), "moderator");
  const name = unique("spam").slice(0, 24);
  await openChat(guest, name);
  const block = await moderator.request.post("/api/blocks", {
    data: { guest_name: name.toUpperCase(), reason: "spam" },
  });
  expect(block.status()).toBe(201);

  const text = unique("buy cheap watches");
  await send(guest, text);
  const refused = pendingBubble(guest, text);
  await expect(refused).toHaveAttribute("data-state", "failed");
  await expect(refused.locator("[data-test=failure-reason]")).toContainText("blocked from writing for good: spam");
  await expect(bubbles(moderator, text)).toHaveCount(0);
  for (const context of contexts) await context.close();
});

test("slow mode counts down in the composer, and a locked room says so live", async ({ browser }) => {
  const contexts = await Promise.all([browser.newContext(), browser.newContext()]);
  const [moderator, reader] = await Promise.all(contexts.map((context) => context.newPage()));
  await openChat(moderator);
  grantRole(await signUp(moderator), "moderator");
  await moderator.reload();
  const room = roomName();
  await createRoom(moderator, room);
  const settings = async (body: object) => {
    const response = await moderator.request.patch(`/api/rooms/${encodeURIComponent(room)}`, { data: body });
    expect(response.status()).toBe(200);
  };
  await settings({ slow_mode_secs: 30 });
  await openChat(reader, unique("slow"), roomPath(room));
  const pace = reader.locator("[data-test=slow-mode]");
  await expect(pace).toHaveText("Slow mode: one message every 30 s.");

  const first = unique("first");
  await send(reader, first);
  await expect(bubbles(moderator, first)).toHaveCount(1);
  await expect(pace).toHaveText(/^Slow mode: you can send again in ([1-9]|[12]\d|30) s\.$/);
  // A second message waits its turn instead of failing.
  const second = unique("second");
  await send(reader, second);
  await expect(pendingBubble(reader, second)).toHaveAttribute("data-state", "throttled");
  // Moderators are exempt.
  await expect(moderator.locator("[data-test=slow-mode]")).toBeHidden();

  await settings({ slow_mode_secs: 0, locked: true });
  const closed = reader.locator("[data-test=sign-in-to-send]");
  await expect(closed).toHaveText("This room is locked: only moderators write here.");
  await expect(reader.getByRole("button", { name: "Send" })).toBeDisabled();
  await expect(moderator.getByRole("button", { name: "Send" })).toBeEnabled();
  for (const context of contexts) await context.close();
});

test("a reader reports a message, and the moderators' page lists it and closes it from the keyboard", async ({ browser }) => {
  const contexts = await Promise.all([browser.newContext(), browser.newContext(), browser.newContext()]);
  const [moderator, author, reader] = await Promise.all(contexts.map((context) => context.newPage()));
  await openChat(moderator);
  grantRole(await signUp(moderator), "moderator");
  await moderator.reload();
  await openChat(author, unique("rude"));
  await openChat(reader, unique("reader"));
  const rude = unique("you are all idiots");
  await send(author, rude);
  await expect(bubbles(reader, rude)).toHaveCount(1);

  // The reader reports it, saying why.
  reader.once("dialog", (dialog) => dialog.accept("insults"));
  await bubbles(reader, rude).hover();
  await bubbles(reader, rude).locator("[data-test=report-message]").click();
  await expect(bubbles(reader, rude).locator("[data-test=reported]")).toHaveText("Reported to the moderators");
  // Nobody reports their own message.
  await bubbles(author, rude).hover();
  await expect(bubbles(author, rude).locator("[data-test=report-message]")).toBeHidden();

  // The moderator's header leads to the moderators' page.
  await moderator.locator("[data-test=admin-link]").click();
  await expect(moderator).toHaveURL(/\/admin$/);
  const report = moderator.locator("[data-test=report]").filter({ hasText: rude });
  await expect(report).toContainText("insults");
  // Keyboard only: the reason field, then Tab to "Remove message".
  await report.getByLabel("Reason").focus();
  await moderator.keyboard.type("insults");
  await moderator.keyboard.press("Tab");
  await expect(report.getByRole("button", { name: "Remove message" })).toBeFocused();
  await moderator.keyboard.press("Enter");
  await expect(moderator.locator("[data-test=admin-done]")).toHaveText("remove: 1 report(s) closed");
  await expect(moderator.locator("[data-test=report]").filter({ hasText: rude })).toHaveCount(0);
  await expect(bubbles(reader, rude)).toHaveCount(0);
  await expect(reader.getByText("Removed by a moderator").first()).toBeVisible();

  await moderator.goto("/admin/audit");
  await expect(moderator.locator("[data-test=audit-entry]").first()).toContainText("remove_message");
  for (const context of contexts) await context.close();
});
