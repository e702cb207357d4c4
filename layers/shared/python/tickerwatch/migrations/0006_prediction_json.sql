-- Stored forecasts also kept as JSON text: a cached forecast (thousands of numbers in its series,
-- and four PNGs) is answered by splicing text, with no jsonb-to-text conversion per request.
ALTER TABLE prediction_results ADD COLUMN result_json json GENERATED ALWAYS AS (result::json) STORED;
ALTER TABLE prediction_results ADD COLUMN plots_json json GENERATED ALWAYS AS (plots::json) STORED;
