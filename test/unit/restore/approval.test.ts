import { describe, expect, it } from 'vitest';
import { approvalProblem, recordApproval } from '../../../src/restore/approval.js';

describe('approvalProblem', () => {
  it.each([
    [{ identity: 'alice', reason: 'INC-1' }, undefined],
    [undefined, 'an approval is a JSON object {"identity": "who you are", "reason": "why"}'],
    ['yes', 'an approval is a JSON object {"identity": "who you are", "reason": "why"}'],
    [{ reason: 'x' }, 'the approval needs an "identity": who is giving it'],
    [{ identity: '  ', reason: 'x' }, 'the approval needs an "identity": who is giving it'],
    [{ identity: 'alice' }, 'the approval needs a "reason": why'],
    [{ identity: 'alice', reason: 'x'.repeat(501) }, 'identity and reason must be at most 500 characters'],
  ])('%j → %s', (input, problem) => {
    expect(approvalProblem(input)).toBe(problem);
  });

  it('names what is asked for', () => {
    expect(approvalProblem({}, 'abort')).toBe('the abort needs an "identity": who is giving it');
  });
});

describe('recordApproval', () => {
  it('keeps who, why (trimmed) and when', () => {
    expect(recordApproval({ identity: ' alice ', reason: ' INC-1 ' }, '2026-11-24T00:00:00.000Z')).toEqual({
      identity: 'alice',
      reason: 'INC-1',
      at: '2026-11-24T00:00:00.000Z',
    });
  });
});
