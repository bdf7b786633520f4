#include "fresh.h"

#include "health.h"

static int64_t at_least_one(int64_t s)
{
	return s < 1 ? 1 : s;
}

int64_t spk_fresh_due(const struct spk_profile *p, const struct spk_grant *g, int64_t min_valid,
		      int64_t now)
{
	int64_t valid = spk_health_valid_for(p, g, now);
	int64_t margin = spk_health_margin(p, g, min_valid);

	if (valid == INT64_MAX) {
		return INT64_MAX;
	}
	if (valid > margin) {
		return now + (valid - margin);
	}
	return now + at_least_one(valid / 2);
}

int64_t spk_fresh_retry(const struct spk_profile *p, const struct spk_grant *g, int failures,
			int64_t now)
{
	int64_t delay = SPK_FRESH_RETRY_FIRST;
	int64_t valid = spk_health_valid_for(p, g, now);

	for (int i = 1; i < failures && delay < SPK_FRESH_RETRY_MAX; i++) {
		delay *= 2;
	}
	if (delay > SPK_FRESH_RETRY_MAX) {
		delay = SPK_FRESH_RETRY_MAX;
	}
	if (valid > 0 && valid != INT64_MAX && delay > valid / 2) {
		delay = at_least_one(valid / 2);
	}
	return now + delay;
}

int64_t spk_fresh_wait(int64_t due, int64_t now)
{
	if (due <= now) {
		return 0;
	}
	return due - now > SPK_FRESH_RECHECK ? SPK_FRESH_RECHECK : due - now;
}
