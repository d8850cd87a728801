/**
 * Strongbox's custom search attributes: they make runs findable in the Temporal UI and with
 * `temporal workflow list --query "StrongboxTarget='app' AND StrongboxOutcome='failed'"`.
 * Workflow-safe (no Node built-ins). The stack registers them when it starts the dev server;
 * production servers register them once with `temporal operator search-attribute create`.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TargetAttribute = defineSearchAttributeKey('StrongboxTarget', SearchAttributeType.KEYWORD);
export const TierAttribute = defineSearchAttributeKey('StrongboxTier', SearchAttributeType.KEYWORD_LIST);
export const OutcomeAttribute = defineSearchAttributeKey('StrongboxOutcome', SearchAttributeType.KEYWORD);
export const BytesAttribute = defineSearchAttributeKey('StrongboxBytes', SearchAttributeType.INT);
export const KindAttribute = defineSearchAttributeKey('StrongboxKind', SearchAttributeType.KEYWORD);
export const BackupIdAttribute = defineSearchAttributeKey('StrongboxBackupId', SearchAttributeType.KEYWORD);

/** Set by Temporal Schedules on the runs they start: the slot's nominal time. */
export const ScheduledStartTimeAttribute = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** Name → type, as `temporal server start-dev --search-attribute Name=Type` expects. */
export const SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'KeywordList' | 'Int'> = {
  StrongboxTarget: 'Keyword',
  StrongboxTier: 'KeywordList',
  StrongboxOutcome: 'Keyword',
  StrongboxBytes: 'Int',
  StrongboxKind: 'Keyword',
  StrongboxBackupId: 'Keyword',
};

export type Outcome = 'running' | 'succeeded' | 'failed' | 'skipped';
