// Generated from layers/shared/python/tickerwatch/alert_kinds.py by `tickerwatch generate-client`;
// do not edit (tests/unit/test_alert_kinds.py fails when it differs).
export const ALERT_KINDS = {
  "threshold": {
    "title": "Price crosses or is beyond a level",
    "conditions": [
      [
        "above",
        "is at or above"
      ],
      [
        "below",
        "is at or below"
      ],
      [
        "crosses_above",
        "crosses above"
      ],
      [
        "crosses_below",
        "crosses below"
      ]
    ],
    "fields": [
      "threshold_price"
    ],
    "conditionFields": {}
  },
  "duration": {
    "title": "Price stays beyond a level for a while",
    "conditions": [
      [
        "above",
        "stays above"
      ],
      [
        "below",
        "stays below"
      ]
    ],
    "fields": [
      "threshold_price",
      "duration_minutes"
    ],
    "conditionFields": {}
  },
  "percent_change": {
    "title": "Price moves by a percentage",
    "conditions": [
      [
        "up",
        "moves up by"
      ],
      [
        "down",
        "moves down by"
      ]
    ],
    "fields": [
      "percent",
      "window_minutes"
    ],
    "conditionFields": {}
  },
  "indicator": {
    "title": "Price or average against a moving average",
    "conditions": [
      [
        "above",
        "is at or above"
      ],
      [
        "below",
        "is at or below"
      ],
      [
        "crosses_above",
        "crosses above"
      ],
      [
        "crosses_below",
        "crosses below"
      ]
    ],
    "fields": [
      "indicator",
      "period",
      "other_indicator",
      "other_period"
    ],
    "conditionFields": {}
  },
  "forecast": {
    "title": "The model's forecast",
    "conditions": [
      [
        "forecast_above",
        "forecast close at or above a price"
      ],
      [
        "forecast_below",
        "forecast close at or below a price"
      ],
      [
        "outside_band",
        "price leaves the 95% forecast band"
      ]
    ],
    "fields": [
      "threshold_price",
      "horizon"
    ],
    "conditionFields": {
      "outside_band": []
    }
  }
};
export const CONDITION_FIELDS = ["threshold_price", "duration_minutes", "percent", "window_minutes", "indicator", "period", "other_indicator", "other_period", "horizon"];
export const INDICATORS = {"sma": "simple moving average", "ema": "exponential moving average"};
