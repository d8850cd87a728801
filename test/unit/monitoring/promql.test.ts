import { describe, expect, it } from 'vitest';
import { metricNames } from '../../../src/metrics/promql.js';

describe('metric names in a PromQL expression', () => {
  it.each([
    ['up', ['up']],
    ['up{job="strongbox-worker"} == 0', ['up']],
    ['time() - max by (target) (strongbox_backup_last_success_timestamp_seconds{tier="daily"}) > 26 * 3600', ['strongbox_backup_last_success_timestamp_seconds']],
    ['max(a) by (target, tier) / on (target) group_left (tier) b', ['a', 'b']],
    ['x unless on(target) y or z and w', ['w', 'x', 'y', 'z']],
    ['sum by (le) (rate(h_bucket{k=~"a|b"}[5m])) offset 1h', ['h_bucket']],
    ['histogram_quantile(0.95, sum by (le, activity_type) (rate(m_bucket[$__rate_interval])))', ['m_bucket']],
    ['m{target=~"$target"} > 1e3 and n > 0x1f', ['m', 'n']],
    ['max_over_time(m[1d:5m]) # a comment naming not_a_metric', ['m']],
    ['label_replace(m, "dst", "$1", "src", "(.*)")', ['m']],
    ['count without (instance) (m) > bool 0', ['m']],
    ['m > Inf or NaN', ['m']],
  ])('%s', (expression, names) => {
    expect(metricNames(expression)).toEqual(names);
  });
});
