"""Zoo entries: one folder per paper with card.json, MODEL_CARD.md, weights and recipe."""
