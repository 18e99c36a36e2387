import { headers } from '@nats-io/transport-node';
import { currentTrace, extractTrace, injectTrace, newSpan, parseTraceparent, runWithTrace } from './trace-context';

const parentTp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  describe('when parsing a traceparent', () => {
    it('reads trace id, span id and the sampled flag', () => {
      expect(parseTraceparent(parentTp)).toEqual({
        traceparent: parentTp,
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        spanId: '00f067aa0ba902b7',
        sampled: true,
      });
    });

    it('rejects malformed and all-zero values', () => {
      expect(parseTraceparent('garbage')).toBeUndefined();
      expect(parseTraceparent(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
      expect(parseTraceparent(undefined)).toBeUndefined();
    });
  });

  describe('when a message goes out', () => {
    it('continues an explicit parent with a new span id', () => {
      const h = headers();
      const span = injectTrace(h, parentTp);
      expect(span.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(span.spanId).not.toBe('00f067aa0ba902b7');
      expect(h.get('traceparent')).toBe(span.traceparent);
    });

    it('continues the current handler trace when given no parent', () => {
      const handlerTrace = newSpan(parseTraceparent(parentTp));
      const span = runWithTrace(handlerTrace, () => injectTrace(headers()));
      expect(span.traceId).toBe(handlerTrace.traceId);
      expect(currentTrace()).toBeUndefined();
    });

    it('falls back to the stored traceparent, else starts a new trace', () => {
      expect(injectTrace(headers(), undefined, parentTp).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      const a = injectTrace(headers());
      const b = injectTrace(headers());
      expect(a.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(a.traceId).not.toBe(b.traceId);
    });
  });

  describe('when a message comes in', () => {
    it('prefers the header over the fallback', () => {
      const h = headers();
      h.set('traceparent', parentTp);
      expect(extractTrace(h, newSpan().traceparent).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(extractTrace(undefined, parentTp).traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    });
  });
});
