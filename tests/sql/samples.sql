-- Sample functions. Each line prints  name|1  when the assertion holds.
SELECT 'merge example', json_samples_merge('["a","b"]', '["b","c"]') = '["a","b","c"]';
SELECT 'merge NULL existing', json_samples_merge(NULL, '["x","x","y"]') = '["x","y"]';
SELECT 'merge NULL incoming', json_samples_merge('["x"]', NULL) = '["x"]';
SELECT 'merge both NULL', json_samples_merge(NULL, NULL) = '[]';
SELECT 'merge caps at 10 by default', json_array_length(json_samples_merge('[1,2,3,4,5,6,7,8,9]', '[10,11,12]')) = 10;
SELECT 'merge max_n', json_samples_merge('[1,2,3]', '[4]', 2) = '[1,2]';
SELECT 'merge keeps existing first', json_samples_merge('["z"]', '["a","z"]') = '["z","a"]';
SELECT 'merge distinguishes 1 and "1"', json_samples_merge('[1]', '["1"]') = '[1,"1"]';
SELECT 'merge compares compact forms', json_samples_merge('["\u0041", "x y", [1, 2]]', '["A","x y",[1,2],"q\"\n"]') = '["A","x y",[1,2],"q\"\n"]';
SELECT 'merge nested values', json_samples_merge('[{"k":[1,2]}]', '[{"k":[1,2]},{"k":3}]') = '[{"k":[1,2]},{"k":3}]';
SELECT 'json_samples first 10 distinct in order', json_samples(v) = '[3,1,2]'
  FROM (SELECT 3 v UNION ALL SELECT 1 UNION ALL SELECT 3 UNION ALL SELECT NULL UNION ALL SELECT 2);
SELECT 'json_samples text', json_samples(v) = '["a","b"]' FROM (SELECT 'a' v UNION ALL SELECT 'b' UNION ALL SELECT 'a');
SELECT 'json_samples max_n', json_samples(v, 2) = '["a","b"]' FROM (SELECT 'a' v UNION ALL SELECT 'b' UNION ALL SELECT 'c');
SELECT 'json_samples no rows is []', (SELECT json_samples(1) WHERE 0) = '[]';
SELECT 'json_samples reals', json_samples(v) = '[1.5,2]' FROM (SELECT 1.5 v UNION ALL SELECT 2.0);
SELECT 'json_samples escapes', json_samples(v) = '["a\"b"]' FROM (SELECT 'a"b' v);
SELECT 'json_samples then merge', json_samples_merge(json_samples(v), '["b","c"]') = '["a","b","c"]' FROM (SELECT 'a' v UNION ALL SELECT 'b');
SELECT 'json_samples valid JSON', json_valid(json_samples(v)) FROM (SELECT 'x' v UNION ALL SELECT 1 UNION ALL SELECT 2.5);
