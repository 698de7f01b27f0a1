// Text is shown as text, never run as HTML; the page runs only its own
// scripts; other sites cannot post through it; names cannot hide.
import * as crypto from "node:crypto";
import { expect, test } from "@playwright/test";
import { bubbles, CONNECTED, openChat, send, sendError, subtitle, unique, usernameInput } from "./fixtures/chat";

test("markup in a message is shown literally", async ({ page, browser }) => {
  let dialogs = 0;
  page.on("dialog", (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await openChat(page, "mallory");
  const text = `<script>alert(1)</script> <b>${Date.now()}</b>`;
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  await expect(page.locator("[data-test=message-text] b")).toHaveCount(0);

  // Also when rendered by the server for a new visitor.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  otherPage.on("dialog", (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await openChat(otherPage);
  await expect(bubbles(otherPage, text)).toHaveCount(1);
  expect(dialogs).toBe(0);
  await other.close();
});

test("the page runs under its Content-Security-Policy without violations", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (message.text().includes("Content Security Policy")) violations.push(message.text());
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`Content Security Policy violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const response = await page.goto("/");
  const policy = response?.headers()["content-security-policy"] ?? "";
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).toMatch(/script-src 'self' 'nonce-[^']+'/);

  // Hydrated (Send works) and live (the stream is open) under the policy.
  await expect(subtitle(page)).toHaveText(CONNECTED);
  await usernameInput(page).fill("ada");
  const text = unique("under csp");
  await send(page, text);
  await expect(bubbles(page, text)).toHaveCount(1);
  expect(violations).toEqual([]);
});

test("another site's page cannot post through a visitor's browser", async ({ page, request }) => {
  // Learn where the page's send goes, by sending once for real.
  await openChat(page, "ada");
  const call = page.waitForRequest(/\/api\/send_message/);
  await send(page, unique("own page"));
  const sendUrl = (await call).url();

  // A page on another origin (served here by Playwright itself) submits a
  // form to it: a simple request, no preflight, so the browser sends it.
  // Its text/plain body reads as the JSON the send takes:
  // {"username":"mallory","text":"...","client_id":"...","pad":"="}
  const text = unique("cross-site");
  const evil = "http://127.0.0.1:3999/";
  await page.route(evil, (route) =>
    route.fulfill({ contentType: "text/html", body: "<!doctype html><title>elsewhere</title>" }),
  );
  await page.goto(evil);
  const json = `{"username":"mallory","text":"${text}","client_id":"${crypto.randomUUID()}","pad":"`;
  const refused = page.waitForResponse((response) => response.url() === sendUrl);
  await page.evaluate(
    ([url, name]) => {
      const form = document.createElement("form");
      form.method = "POST";
      form.action = url;
      form.enctype = "text/plain";
      const field = document.createElement("input");
      field.name = name;
      field.value = '"}';
      form.appendChild(field);
      document.body.appendChild(form);
      form.submit();
    },
    [sendUrl, json],
  );
  expect((await refused).status()).toBe(403);

  const stored = await (await request.get("/api/messages?limit=500")).json();
  expect(stored.map((message: { text: string }) => message.text)).not.toContain(text);
});

test("names and texts are isolated so direction controls cannot spill", async ({ page }) => {
  await openChat(page, "ada");
  const text = `\u202E${unique("reversed")}`;
  await send(page, text);
  const bubble = bubbles(page, text);
  await expect(bubble).toHaveCount(1);
  const name = bubble.locator("[data-test=message-username]");
  expect(await name.evaluate((element) => element.tagName)).toBe("BDI");
  const body = bubble.locator("[data-test=message-text]");
  expect(await body.evaluate((element) => getComputedStyle(element).unicodeBidi)).toBe("isolate");

  // A name that hides a zero-width space is refused with its rule.
  await usernameInput(page).fill("ada\u200B");
  await send(page, unique("hidden name"));
  await expect(sendError(page)).toContainText("username must not contain invisible characters");
});
