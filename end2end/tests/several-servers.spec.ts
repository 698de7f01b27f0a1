// Two servers on one PostgreSQL database, behind a load balancer: one chat.
import { expect, test } from "@playwright/test";
import { Balancer } from "./fixtures/balancer";
import { bubbles, CONNECTED, openChat, send, subtitle, unique } from "./fixtures/chat";
import { clusterUrl, freshPostgresDatabase } from "./fixtures/postgres";
import { ChatServer, ownServerPort } from "./fixtures/server";

test("browsers on two servers see each other live, and one survives its server stopping", async ({ browser }) => {
  // `cargo xtask test` always starts a cluster; a run without one says so.
  test.skip(!clusterUrl && !process.env.CI, "needs CHAT_TEST_POSTGRES_URL");
  const database = freshPostgresDatabase();
  const balancer = await Balancer.start(ownServerPort + 2, ownServerPort);
  // Every server answers for the address browsers use: the balancer's.
  const flags = ["--public-url", balancer.url];
  const servers: ChatServer[] = [];
  const adaContext = await browser.newContext();
  const bobContext = await browser.newContext();
  try {
    const one = await ChatServer.startOn(ownServerPort, database, flags);
    servers.push(one);
    const two = await ChatServer.startOn(ownServerPort + 1, database, flags);
    servers.push(two);
    const ada = await adaContext.newPage();
    const bob = await bobContext.newPage();
    balancer.backend = one.port;
    await openChat(ada, "ada", balancer.url);
    balancer.backend = two.port;
    await openChat(bob, "bob", balancer.url);

    const fromAda = unique("from ada on one");
    await send(ada, fromAda);
    await expect(bubbles(bob, fromAda)).toHaveCount(1);
    const fromBob = unique("from bob on two");
    await send(bob, fromBob);
    await expect(bubbles(ada, fromBob)).toHaveCount(1);

    // Ada's server goes away; her page reconnects through the balancer,
    // now to the other server, and resumes where it was.
    await one.stop();
    const meanwhile = unique("while ada reconnects");
    await send(bob, meanwhile);
    await expect(subtitle(ada)).toHaveText(CONNECTED, { timeout: 20_000 });
    await expect(bubbles(ada, meanwhile)).toHaveCount(1);
    const after = unique("ada on two");
    await send(ada, after);
    await expect(bubbles(bob, after)).toHaveCount(1);
    await expect(bubbles(ada, after)).toHaveCount(1);
    for (const text of [fromAda, fromBob, meanwhile]) {
      await expect(bubbles(ada, text)).toHaveCount(1);
      await expect(bubbles(bob, text)).toHaveCount(1);
    }
  } finally {
    await adaContext.close();
    await bobContext.close();
    for (const server of servers) await server.stop();
    await balancer.stop();
  }
});
