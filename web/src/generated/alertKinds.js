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
    "sentences": {
      "above": "{symbol} is at or above {threshold_price}",
      "below": "{symbol} is at or below {threshold_price}",
      "crosses_above": "{symbol} crosses above {threshold_price}",
      "crosses_below": "{symbol} crosses below {threshold_price}"
    },
    "sentencesWithOptional": {},
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
    "sentences": {
      "above": "{symbol} stays above {threshold_price} for {duration_minutes} minutes",
      "below": "{symbol} stays below {threshold_price} for {duration_minutes} minutes"
    },
    "sentencesWithOptional": {},
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
    "sentences": {
      "up": "{symbol} moves up {percent} within {window_minutes} minutes",
      "down": "{symbol} moves down {percent} within {window_minutes} minutes"
    },
    "sentencesWithOptional": {},
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
    "sentences": {
      "above": "{symbol} is at or above its {average}",
      "below": "{symbol} is at or below its {average}",
      "crosses_above": "{symbol} crosses above its {average}",
      "crosses_below": "{symbol} crosses below its {average}"
    },
    "sentencesWithOptional": {
      "above": "{symbol} {average} is at or above its {other_average}",
      "below": "{symbol} {average} is at or below its {other_average}",
      "crosses_above": "{symbol} {average} crosses above its {other_average}",
      "crosses_below": "{symbol} {average} crosses below its {other_average}"
    },
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
    "sentences": {
      "forecast_above": "{symbol} forecast {horizon} trading days ahead is at or above {threshold_price}",
      "forecast_below": "{symbol} forecast {horizon} trading days ahead is at or below {threshold_price}",
      "outside_band": "{symbol} leaves its 95% forecast band"
    },
    "sentencesWithOptional": {},
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
