-- Every chat message. Ids come from message_log, not a sequence: see
-- src/store/postgres.rs for why they must become visible in id order.
CREATE TABLE messages (
    id         BIGINT      PRIMARY KEY,
    client_id  UUID        NOT NULL UNIQUE,
    username   TEXT        NOT NULL,
    text       TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- Sent by a guest under a name of their choosing, not by an account.
    guest      BOOLEAN     NOT NULL DEFAULT TRUE
);

-- One row: the newest id given out. Every append locks it until its
-- commit, so appends from every server commit in id order.
CREATE TABLE message_log (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last_id   BIGINT  NOT NULL
);
INSERT INTO message_log (last_id) VALUES (0);

-- One append, as one statement (and so, outside a transaction block, one
-- round trip and one transaction): lock the head; insert, under the next
-- ids in the order given, each draft whose client id is not stored yet
-- (the first of repeats); move the head; notify at commit. Returns, per
-- draft in order, the message stored under its client id, whether this
-- call inserted it, and the head before the call.
CREATE FUNCTION append_messages(
    p_client_ids UUID[],
    p_usernames  TEXT[],
    p_texts      TEXT[],
    p_guests     BOOLEAN[],
    p_at         TIMESTAMPTZ,
    p_channel    TEXT
) RETURNS TABLE (
    o_id         BIGINT,
    o_client_id  UUID,
    o_username   TEXT,
    o_text       TEXT,
    o_created_at TIMESTAMPTZ,
    o_guest      BOOLEAN,
    o_inserted   BOOLEAN,
    o_head       BIGINT
) LANGUAGE plpgsql AS $$
DECLARE
    v_head  BIGINT;
    v_count BIGINT;
BEGIN
    -- Its own statement: under READ COMMITTED each later one sees every
    -- append that held the lock before this one.
    SELECT last_id INTO v_head FROM message_log FOR UPDATE;
    INSERT INTO messages (id, client_id, username, text, created_at, guest)
    SELECT v_head + row_number() OVER (ORDER BY fresh.ord), fresh.cid, fresh.uname, fresh.txt, p_at, fresh.g
    FROM (
        SELECT DISTINCT ON (d.cid) d.cid, d.uname, d.txt, d.g, d.ord
        FROM unnest(p_client_ids, p_usernames, p_texts, p_guests)
             WITH ORDINALITY AS d (cid, uname, txt, g, ord)
        -- LATERAL with LIMIT: one index probe per draft, never a scan.
        LEFT JOIN LATERAL (
            SELECT true AS found FROM messages m WHERE m.client_id = d.cid LIMIT 1
        ) AS stored ON true
        WHERE stored.found IS NULL
        ORDER BY d.cid, d.ord
    ) AS fresh;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    IF v_count > 0 THEN
        UPDATE message_log SET last_id = v_head + v_count;
        PERFORM pg_notify(p_channel, (v_head + v_count)::text);
    END IF;
    RETURN QUERY
        SELECT m.id, m.client_id, m.username, m.text, m.created_at, m.guest, m.id > v_head, v_head
        FROM unnest(p_client_ids) WITH ORDINALITY AS d (cid, ord)
        CROSS JOIN LATERAL (
            SELECT * FROM messages WHERE messages.client_id = d.cid LIMIT 1
        ) AS m
        ORDER BY d.ord;
END
$$;
