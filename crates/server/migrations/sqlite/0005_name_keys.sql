-- Which way of making names' keys (what makes two names one) made the
-- `name_key` of every account and room: the server makes older keys again
-- as it opens the database (src/log/store/name_keys.rs). 1: the way of the
-- migrations before this one.
CREATE TABLE name_keys (version INTEGER NOT NULL);
INSERT INTO name_keys (version) VALUES (1);
