-- A reply names the message of the same room it answers.
ALTER TABLE messages ADD COLUMN reply_to BIGINT REFERENCES messages (id);

-- append_messages (see 0003_rooms.sql) takes each draft's reply_to too.
DROP FUNCTION append_messages(UUID[], BIGINT[], TEXT[], TEXT[], BOOLEAN[], TIMESTAMPTZ, TEXT);
CREATE FUNCTION append_messages(
    p_client_ids UUID[],
    p_room_ids   BIGINT[],
    p_usernames  TEXT[],
    p_texts      TEXT[],
    p_guests     BOOLEAN[],
    p_reply_tos  BIGINT[],
    p_at         TIMESTAMPTZ,
    p_channel    TEXT
) RETURNS TABLE (
    o_id         BIGINT,
    o_room       TEXT,
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
    INSERT INTO messages (id, client_id, room_id, username, text, created_at, guest, reply_to)
    SELECT v_head + row_number() OVER (ORDER BY fresh.ord), fresh.cid, fresh.rid, fresh.uname, fresh.txt, p_at, fresh.g, fresh.rt
    FROM (
        SELECT DISTINCT ON (d.cid) d.cid, d.rid, d.uname, d.txt, d.g, d.rt, d.ord
        FROM unnest(p_client_ids, p_room_ids, p_usernames, p_texts, p_guests, p_reply_tos)
             WITH ORDINALITY AS d (cid, rid, uname, txt, g, rt, ord)
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
        SELECT m.id, r.name, m.client_id, m.username, m.text, m.created_at, m.guest, m.id > v_head, v_head
        FROM unnest(p_client_ids) WITH ORDINALITY AS d (cid, ord)
        CROSS JOIN LATERAL (
            SELECT * FROM messages WHERE messages.client_id = d.cid LIMIT 1
        ) AS m
        JOIN rooms r ON r.id = m.room_id
        ORDER BY d.ord;
END
$$;
