import { describe, expect, it } from 'vitest';
import { datedExportKey, datedManifestKey, latestExportKey, latestManifestKey, parseExportKey } from '../../../src/export/layout.js';

describe('export layout', () => {
  it('keeps targets apart and dates every export', () => {
    expect(datedExportKey('app', 'products', '2026-11-24T04:00:00.000Z', 'json')).toBe('exports/app/products-20261124T040000Z.json');
    expect(datedExportKey('app', 'products', '2026-11-24T04:00:00.000Z', 'ndjson')).toBe('exports/app/products-20261124T040000Z.ndjson');
    expect(datedManifestKey('app', 'products', '2026-11-24T04:00:00.000Z')).toBe('exports/app/products-20261124T040000Z.manifest.json');
  });

  it('keeps the latest export at a fixed name', () => {
    expect(latestExportKey('app', 'products', 'json')).toBe('exports/app/products.json');
    expect(latestManifestKey('app', 'products')).toBe('exports/app/products.manifest.json');
  });

  it.each([
    [
      'exports/app/products-20261124T040000Z.json',
      { target: 'app', name: 'products', kind: 'data', exportedAt: '2026-11-24T04:00:00.000Z' },
    ],
    [
      'exports/app/products-20261124T040000Z.ndjson',
      { target: 'app', name: 'products', kind: 'data', exportedAt: '2026-11-24T04:00:00.000Z' },
    ],
    [
      'exports/app/price-list-2-20261124T040000Z.manifest.json',
      { target: 'app', name: 'price-list-2', kind: 'manifest', exportedAt: '2026-11-24T04:00:00.000Z' },
    ],
    ['exports/app/products.json', { target: 'app', name: 'products', kind: 'latest' }],
    ['exports/app/products.manifest.json', { target: 'app', name: 'products', kind: 'latest-manifest' }],
    ['exports/app/products-20261324T040000Z.json', undefined],
    ['exports/app/products.csv', undefined],
    ['exports/app/sub/products.json', undefined],
    ['backups/app/products.json', undefined],
    ['exports/app/Products.json', undefined],
  ])('parses %s', (key, expected) => {
    expect(parseExportKey(key)).toEqual(expected);
  });

  it('parses back every key it builds', () => {
    const at = '2026-02-28T23:59:59.000Z';
    for (const key of [datedExportKey('t', 'n', at, 'json'), datedManifestKey('t', 'n', at)]) {
      expect(parseExportKey(key)).toMatchObject({ target: 't', name: 'n', exportedAt: at });
    }
  });
});
