-- Frequent-items (top values) functions. Each line prints  name|1  when the assertion holds.
CREATE TEMP TABLE r(i INTEGER PRIMARY KEY, v);
-- 100 000 records: 'GET /health' in half of them, the rest over 30 011 paths.
WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 100000)
INSERT INTO r(v) SELECT CASE WHEN v % 2 = 0 THEN 'GET /health' ELSE 'GET /users/' || (v * 7919 % 30011) END FROM s;
CREATE TEMP TABLE truth AS SELECT v, count(*) n FROM r GROUP BY v;

SELECT 'topk_sketch over no rows is NULL', (SELECT topk_sketch(v) FROM r WHERE 0) IS NULL;
SELECT 'topk_sketch over NULLs only is NULL', topk_sketch(x) IS NULL FROM (SELECT NULL x UNION ALL SELECT NULL);
SELECT 'topk_sketch is a BLOB', typeof(topk_sketch(v)) = 'blob' FROM r;
SELECT 'topk_sketch skips NULLs', topk_values(topk_sketch(x)) = '[{"value":"a","count":2,"lower":2,"upper":2},{"value":"b","count":1,"lower":1,"upper":1}]'
  FROM (SELECT 'a' x UNION ALL SELECT NULL UNION ALL SELECT 'b' UNION ALL SELECT 'a');
SELECT 'numbers count as their text', topk_estimate(topk_sketch(x), '42') = 3 FROM (SELECT 42 x UNION ALL SELECT 42.0 UNION ALL SELECT '42');
SELECT 'default lg_max_map_size is 8', topk_info(topk_sketch(v)) ->> '$.lg_max_map_size' = 8 FROM r;
SELECT 'lg_max_map_size argument', topk_info(topk_sketch(v, 12)) ->> '$.lg_max_map_size' = 12 FROM r;

-- The skewed key: the top value first, its true count within its bounds, the bounds within epsilon.
CREATE TEMP TABLE sk AS SELECT topk_sketch(v) s FROM r;
SELECT 'skewed: top value', topk_values(s, 1) ->> '$[0].value' = 'GET /health' FROM sk;
SELECT 'skewed: lower <= 50000 <= upper', topk_values(s, 1) ->> '$[0].lower' <= 50000 AND 50000 <= topk_values(s, 1) ->> '$[0].upper' FROM sk;
SELECT 'skewed: count is the upper bound', topk_values(s, 1) ->> '$[0].count' = topk_values(s, 1) ->> '$[0].upper' FROM sk;
SELECT 'skewed: error within epsilon x weight', topk_info(s) ->> '$.maximum_error' <= topk_info(s) ->> '$.epsilon' * 100000 FROM sk;
SELECT 'skewed: the sketch purged', topk_info(s) ->> '$.maximum_error' > 0 FROM sk;
SELECT 'skewed: every listed value within its bounds', NOT EXISTS (
  SELECT 1 FROM sk, json_each(topk_values(sk.s, 1000, 'no_false_negatives')) j JOIN truth t ON t.v = j.value ->> '$.value'
  WHERE t.n < j.value ->> '$.lower' OR t.n > j.value ->> '$.upper');
SELECT 'skewed: unlisted values at most the maximum error', NOT EXISTS (
  SELECT 1 FROM truth t, sk WHERE t.n > topk_info(sk.s) ->> '$.maximum_error'
  AND t.v NOT IN (SELECT value ->> '$.value' FROM json_each(topk_values(sk.s, 1000, 'no_false_negatives'))));
SELECT 'skewed: the default lists only values above the error', topk_values(s, 1000) = topk_values(s, 1000, 'no_false_positives')
  AND json_array_length(topk_values(s, 1000)) < json_array_length(topk_values(s, 1000, 'no_false_negatives')) FROM sk;

SELECT 'topk_sketch_weighted adds counts', topk_values(topk_sketch_weighted(v, n)) = '[{"value":"GET","count":42,"lower":42,"upper":42},{"value":"PUT","count":1,"lower":1,"upper":1}]'
  FROM (SELECT 'GET' v, 40 n UNION ALL SELECT 'PUT', 1 UNION ALL SELECT 'GET', 2 UNION ALL SELECT 'POST', 0 UNION ALL SELECT 'X', NULL);
SELECT 'topk_sketch_weighted of counts equals topk_sketch of rows', (SELECT topk_values(topk_sketch_weighted(v, n, 10), 50) FROM
  (SELECT v, count(*) n FROM r WHERE i <= 1000 GROUP BY v)) = (SELECT topk_values(topk_sketch(v, 10), 50) FROM r WHERE i <= 1000);

SELECT 'topk_add NULL sketch starts one', topk_estimate(topk_add(NULL, 'a'), 'a') = 1;
SELECT 'topk_add with a count', topk_estimate(topk_add(topk_add(NULL, 'a'), 'a', 9), 'a') = 10;
SELECT 'topk_add NULL value keeps the sketch', topk_add(topk_add(NULL, 'a'), NULL) = topk_add(NULL, 'a');
SELECT 'topk_add NULL NULL is NULL', topk_add(NULL, NULL) IS NULL;
SELECT 'topk_add keeps lg_max_map_size', topk_info(topk_add(topk_sketch(v, 5), 'x')) ->> '$.lg_max_map_size' = 5 FROM r WHERE i < 10;

SELECT 'topk_merge scalar adds counts', topk_estimate(topk_merge(topk_add(NULL, 'a'), topk_add(NULL, 'a', 2), NULL), 'a') = 3;
SELECT 'topk_merge all NULL is NULL', topk_merge(NULL, NULL) IS NULL;
SELECT 'topk_merge of halves bounds the whole', (SELECT topk_values(m, 1) ->> '$[0].lower' <= 50000 AND 50000 <= topk_values(m, 1) ->> '$[0].upper'
  AND topk_info(m) ->> '$.total_weight' = 100000 FROM (SELECT topk_merge(
  (SELECT topk_sketch(v) FROM r WHERE i <= 50000), (SELECT topk_sketch(v) FROM r WHERE i > 50000)) m));
SELECT 'topk_merge aggregate of shards bounds the whole', (SELECT topk_values(m, 1) ->> '$[0].value' = 'GET /health'
  AND topk_values(m, 1) ->> '$[0].lower' <= 50000 AND 50000 <= topk_values(m, 1) ->> '$[0].upper'
  FROM (SELECT topk_merge(s) m FROM (SELECT topk_sketch(v) s FROM r GROUP BY i % 7)));
SELECT 'topk_merge gives the smallest lg_max_map_size', topk_info(topk_merge(
  (SELECT topk_sketch(v, 12) FROM r), (SELECT topk_sketch(v, 6) FROM r))) ->> '$.lg_max_map_size' = 6;
SELECT 'topk_merge aggregate skips NULLs, none is NULL', (SELECT topk_merge(x) FROM (SELECT NULL x)) IS NULL;

SELECT 'topk_values NULL is an empty array', topk_values(NULL) = '[]';
SELECT 'topk_values n', json_array_length(topk_values(topk_sketch(i % 20), 5)) = 5 FROM r;
SELECT 'topk_values default n is 10', json_array_length(topk_values(topk_sketch(i % 20))) = 10 FROM r;
SELECT 'topk_values ties by value', topk_values(topk_sketch(x)) ->> '$[0].value' = 'a' FROM (SELECT 'b' x UNION ALL SELECT 'a');

SELECT 'topk_estimate NULL sketch is 0', topk_estimate(NULL, 'a') = 0;
SELECT 'topk_estimate NULL value is NULL', topk_estimate(topk_add(NULL, 'a'), NULL) IS NULL;
SELECT 'topk_estimate untracked is 0', topk_estimate(topk_add(NULL, 'a'), 'b') = 0;

SELECT 'topk_info fields', topk_info(s) ->> '$.total_weight' = 100000 AND topk_info(s) ->> '$.max_map_size' = 256
  AND topk_info(s) ->> '$.bytes' = length(s) AND topk_info(s) ->> '$.serial_version' = 1 AND topk_info(s) ->> '$.empty' = 0 FROM sk;
SELECT 'topk_info NULL is NULL', topk_info(NULL) IS NULL;

SELECT 'running top value as a window', group_concat(t) = 'a,a,b' FROM (
  SELECT topk_values(topk_sketch(x) OVER (ORDER BY i), 1) ->> '$[0].value' t FROM (SELECT 1 i, 'a' x UNION ALL SELECT 2, 'b' UNION ALL SELECT 3, 'b'));
