-- Sketch functions. Each line prints  name|1  when the assertion holds.
CREATE TEMP TABLE n(v INTEGER);
WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 20000)
INSERT INTO n SELECT v FROM s;

SELECT 'hll_sketch over no rows is NULL', (SELECT hll_sketch(v) FROM n WHERE 0) IS NULL;
SELECT 'hll_sketch skips NULLs', hll_count(hll_sketch(v)) = 3 FROM (SELECT 1 v UNION ALL SELECT NULL UNION ALL SELECT 2 UNION ALL SELECT 3);
SELECT 'hll_sketch is a BLOB', typeof(hll_sketch(v)) = 'blob' FROM n;
SELECT 'hll_count within 3 sigma at 20k', abs(hll_count(hll_sketch(v)) - 20000) < 20000 * 3 * 0.01625 FROM n;
SELECT 'small counts are exact', hll_count(hll_sketch(v)) = 100 FROM n WHERE v <= 100;
SELECT 'duplicates count once', hll_count(hll_sketch(v % 7)) = 7 FROM n;
SELECT 'lg_k argument', json_extract(hll_info(hll_sketch(v, 14)), '$.lg_k') = 14 FROM n;
SELECT 'default lg_k is 12', json_extract(hll_info(hll_sketch(v)), '$.lg_k') = 12 FROM n;
-- Numbers hash as DataSketches hashes a long and a double, text as its bytes.
SELECT 'integer 42 and text 42 are two values', hll_count(hll_sketch(x)) = 2 FROM (SELECT 42 x UNION ALL SELECT '42');
SELECT 'real 1.0, integer 1 and text 1 are three values', hll_count(hll_sketch(x)) = 3 FROM (SELECT 1.0 x UNION ALL SELECT '1' UNION ALL SELECT 1);
SELECT 'real 0.5 and text 0.5 are two values', hll_count(hll_sketch(x)) = 2 FROM (SELECT 0.5 x UNION ALL SELECT '0.5');
SELECT 'cast to text, they are one value', hll_count(hll_sketch(CAST(x AS TEXT))) = 1 FROM (SELECT 42 x UNION ALL SELECT '42');
SELECT 'integer 0 and real 0.0 are one value (8 zero bytes)', hll_count(hll_sketch(x)) = 1 FROM (SELECT 0 x UNION ALL SELECT 0.0);
SELECT 'real -0.0 is 0.0', hll_sketch(-0.0) = hll_sketch(0.0);
SELECT 'a long hashes as its 8 bytes', hll_sketch(1) = hll_sketch(x'0100000000000000');
SELECT 'a double hashes as its 8 bytes', hll_sketch(1.0) = hll_sketch(x'000000000000f03f');
SELECT 'blob and text of same bytes hash alike', hll_count(hll_sketch(x)) = 1 FROM (SELECT x'616263' x UNION ALL SELECT 'abc');
SELECT 'hll_count NULL is 0', hll_count(NULL) = 0;

SELECT 'hll_add NULL sketch starts one', hll_count(hll_add(NULL, 'a')) = 1;
SELECT 'hll_add NULL value keeps the sketch', hll_add(hll_add(NULL, 'a'), NULL) = hll_add(NULL, 'a');
SELECT 'hll_add NULL NULL is NULL', hll_add(NULL, NULL) IS NULL;
SELECT 'hll_add keeps lg_k', json_extract(hll_info(hll_add((SELECT hll_sketch(v, 8) FROM n), 'x')), '$.lg_k') = 8;
SELECT 'hll_add adds', hll_count(hll_add(hll_add(hll_add(NULL, 'a'), 'b'), 'a')) = 2;

SELECT 'hll_merge scalar two', hll_count(hll_merge(hll_add(NULL, 'a'), hll_add(NULL, 'b'))) = 2;
SELECT 'hll_merge scalar many with NULLs', hll_count(hll_merge(NULL, hll_add(NULL, 'a'), NULL, hll_add(NULL, 'b'), hll_add(NULL, 'c'))) = 3;
SELECT 'hll_merge all NULL is NULL', hll_merge(NULL, NULL) IS NULL;
SELECT 'hll_merge of halves', abs(hll_count(hll_merge(
  (SELECT hll_sketch(v) FROM n WHERE v <= 10000), (SELECT hll_sketch(v) FROM n WHERE v > 10000))) - 20000) < 20000 * 3 * 0.01625;
SELECT 'hll_merge different lg_k gives the smaller', json_extract(hll_info(hll_merge(
  (SELECT hll_sketch(v, 14) FROM n), (SELECT hll_sketch(v, 10) FROM n))), '$.lg_k') = 10;
SELECT 'hll_merge aggregate', abs(hll_count(s) - 20000) < 20000 * 3 * 0.01625
  FROM (SELECT hll_merge(s) s FROM (SELECT hll_sketch(v) s FROM n GROUP BY v % 10));
SELECT 'hll_merge aggregate skips NULLs, none is NULL', (SELECT hll_merge(x) FROM (SELECT NULL x)) IS NULL;
SELECT 'hll_merge aggregate equals scalar', (SELECT hll_count(hll_merge(s)) FROM (SELECT hll_add(NULL, 'a') s UNION ALL SELECT hll_add(NULL, 'b'))) = 2;

SELECT 'hll_info fields', json_extract(i, '$.estimate') > 0 AND json_extract(i, '$.lower_bound') <= json_extract(i, '$.estimate')
  AND json_extract(i, '$.upper_bound') >= json_extract(i, '$.estimate') AND json_extract(i, '$.bytes') = length(s)
  FROM (SELECT hll_info(s) i, s FROM (SELECT hll_sketch(v) s FROM n));
SELECT 'hll_info NULL is NULL', hll_info(NULL) IS NULL;
SELECT 'dense sketch within 4 KiB', length(hll_sketch(v)) <= 4096 FROM n;

SELECT 'running distinct count as a window', group_concat(c) = '1,2,2,3' FROM (
  SELECT hll_count(hll_sketch(x) OVER (ORDER BY i)) c FROM (SELECT 1 i, 'a' x UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'a' UNION ALL SELECT 4, 'c'));
