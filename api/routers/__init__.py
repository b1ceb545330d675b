"""One router per resource: health, models, sampling."""
