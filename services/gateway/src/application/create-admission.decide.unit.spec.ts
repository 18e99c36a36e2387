import { afterAnswer, initialAdmission, mayAdmit, refusalOf, type AdmissionSettings } from './create-admission.decide';

const settings: AdmissionSettings = { targetMs: 100, minLimit: 4, maxLimit: 64, maxLoopDelayMs: 50 };

describe('create admission (AIMD on creations in flight)', () => {
  it('starts at a quarter of the most, and admits while fewer than the limit are in flight', () => {
    const s = initialAdmission(settings);
    expect(s.limit).toBe(16);
    expect(mayAdmit({ ...s, inFlight: 15 })).toBe(true);
    expect(mayAdmit({ ...s, inFlight: 16 })).toBe(false);
    // A fractional limit admits its whole part only.
    expect(mayAdmit({ ...s, limit: 4.9, inFlight: 4 })).toBe(false);
  });

  it('grows by about one per limit’s worth of fast answers, up to the most', () => {
    let s = { ...initialAdmission(settings), limit: 10 };
    for (let i = 0; i < 10; i++) s = afterAnswer(s, 20, i, settings);
    expect(s.limit).toBeGreaterThan(10.9);
    expect(s.limit).toBeLessThan(11);
    s = { ...s, limit: 63.99 };
    expect(afterAnswer(s, 20, 0, settings).limit).toBe(64);
  });

  it('shrinks by how far a slow answer missed the target (a tenth to a half), at most once per target interval, never below the least', () => {
    let s = { ...initialAdmission(settings), limit: 20 };
    s = afterAnswer(s, 105, 1_000, settings);
    expect(s.limit).toBe(18);
    // The rest of the same slow round trip: one signal, not many.
    s = afterAnswer(s, 500, 1_050, settings);
    expect(s.limit).toBe(18);
    s = afterAnswer(s, 125, 1_100, settings);
    expect(s.limit).toBeCloseTo(14.4);
    s = afterAnswer(s, 1_000, 1_200, settings);
    expect(s.limit).toBeCloseTo(7.2);
    s = { ...s, limit: 4.2 };
    expect(afterAnswer(s, 500, 5_000, settings).limit).toBe(4);
  });

  it('starts at the least when a quarter of the most is below it', () => {
    expect(initialAdmission({ ...settings, minLimit: 8, maxLimit: 16 }).limit).toBe(8);
  });

  it('refuses over the in-flight limit first, then while the event loop is later than allowed, and never on delay when that is off', () => {
    const s = { ...initialAdmission(settings), limit: 8 };
    expect(refusalOf({ ...s, inFlight: 8 }, 0, settings)).toBe('in-flight');
    expect(refusalOf({ ...s, inFlight: 8 }, 500, settings)).toBe('in-flight');
    expect(refusalOf(s, 50, settings)).toBeUndefined();
    expect(refusalOf(s, 51, settings)).toBe('loop-delay');
    expect(refusalOf(s, 5_000, { ...settings, maxLoopDelayMs: 0 })).toBeUndefined();
  });
});
