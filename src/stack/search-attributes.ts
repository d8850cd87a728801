/**
 * The search attributes the local stack registers when it starts the Temporal dev server
 * (`--search-attribute Name=Type`): Strongbox's own, defined once in src/temporal.
 */
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';

export type SearchAttributeType = 'Keyword' | 'Int' | 'Datetime' | 'Bool' | 'Double' | 'Text' | 'KeywordList';

export const SEARCH_ATTRIBUTE_TYPES: readonly SearchAttributeType[] = [
  'Keyword',
  'Int',
  'Datetime',
  'Bool',
  'Double',
  'Text',
  'KeywordList',
];

export const STRONGBOX_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeType>> = SEARCH_ATTRIBUTES;
