/**
 * The resize machine: decides when the VM grows or shrinks and survives every way a
 * request to the host can go wrong. Pure: effects (sendHello, sendResize, replyReclaim)
 * are placeholders here and are provided from src/io with `.provide()`; time comes from
 * the actor's clock (a SimulatedClock in tests and in the simulator).
 *
 * docs: diagrams/resizer.md is generated from this file (npm run diagrams).
 */
import { and, assign, not, setup } from 'xstate';
import { hasRoomToGrow, unplugTimeoutMs } from '../policy/sizing.ts';
import { alignUp } from '../policy/align.ts';
import { initialContext, type ResizerContext, type ResizerInput } from './context.ts';
import type { ReclaimReply, ResizeRequest, ResizerEvent } from './events.ts';
import * as u from './updates.ts';

type E<T extends ResizerEvent['type']> = Extract<ResizerEvent, { type: T }>;
type Args = { context: ResizerContext; event: ResizerEvent };

/** Narrows an event inside a named action or guard; the chart guarantees the type. */
function ev<T extends ResizerEvent['type']>(event: ResizerEvent, type: T): E<T> {
  if (event.type !== type) throw new Error(`resizer: expected ${type}, got ${event.type}`);
  return event as E<T>;
}

function canGrow(ctx: ResizerContext): boolean {
  return !ctx.atCeiling && hasRoomToGrow(ctx.pluggedBytes, ctx.limits);
}

function isCurrentAck({ context, event }: Args, outcome: string): boolean {
  return event.type === 'host.ack' && event.id === context.request?.id && event.outcome === outcome;
}

/** Observation tolerance: the guest sees memory in kernel blocks, the host plugs device blocks. */
function reached(observed: number, target: number, blockBytes: number, direction: 'up' | 'down'): boolean {
  const slack = Math.max(0, blockBytes - 1);
  return direction === 'up' ? observed + slack >= target : observed <= alignUp(target, blockBytes) + slack;
}

export const resizerSetup = setup({
  types: {
    context: {} as ResizerContext,
    events: {} as ResizerEvent,
    input: {} as ResizerInput,
  },
  actions: {
    // Effects. Placeholders: the composition root provides the real ones (src/io).
    sendHello: (_: Args, _params: { idPrefix: string }) => {},
    sendResize: (_: Args, _params: ResizeRequest) => {},
    replyReclaim: (_: Args, _params: ReclaimReply) => {},

    // Context updates (pure, see updates.ts).
    linkUp: assign({ linkUp: true }),
    linkDown: assign({ linkUp: false, request: null, targetBytes: null }),
    adoptSample: assign(({ context, event }) => u.adoptSample(context, ev(event, 'meminfo.sample'))),
    adoptObserved: assign(({ event }) => ({ pluggedBytes: ev(event, 'mem.observed').pluggedBytes, observedKnown: true })),
    adoptGrowLatency: assign(({ context, event }) => u.adoptGrowLatency(context, ev(event, 'grow.measured').latencyMs)),
    adoptAckRtt: assign(({ context, event }) => u.adoptAckRtt(context, ev(event, 'ack.measured').rttMs)),
    adoptWelcome: assign(({ context, event }) => ({ ...u.adoptWelcome(context, ev(event, 'host.welcome')), helloAttempts: 0, degradedRounds: 0 })),
    countHello: assign(({ context }) => ({ helloAttempts: context.helloAttempts + 1 })),
    resetHello: assign({ helloAttempts: 0 }),
    countDegraded: assign(({ context }) => ({ degradedRounds: context.degradedRounds + 1 })),
    adoptLimits: assign(({ context, event }) => u.adoptLimits(context, ev(event, 'host.limits'))),
    beginGrow: assign(({ context, event }) => {
      const e = event.type === 'psi.pressure' ? ev(event, 'psi.pressure') : ev(event, 'headroom.low');
      return u.beginGrow(context, u.pressureOf(e));
    }),
    // The pressure remembered in the cooldown, else the need a budget denial left.
    beginPendingGrow: assign(({ context }) => u.beginGrow(context, context.pendingPressure ?? context.deniedPressure ?? { source: 'psi', severity: 'some' })),
    beginShrink: assign(({ context }) => u.beginShrink(context)),
    beginReclaim: assign(({ context, event }) => u.beginReclaim(context, ev(event, 'host.reclaim'))),
    beginAbort: assign(({ context, event }) => {
      const e = event.type === 'psi.pressure' ? ev(event, 'psi.pressure') : ev(event, 'headroom.low');
      return u.beginAbort(context, e, canGrow(context));
    }),
    countAttempt: assign(({ context }) => u.countAttempt(context)),
    adoptGrant: assign(({ context, event }) => u.adoptGrant(context, ev(event, 'host.ack'))),
    noteBusy: assign(({ context, event }) => u.noteBusy(context, ev(event, 'host.ack'))),
    noteDenied: assign(({ context, event }) => u.noteDenied(context, ev(event, 'host.ack'), false)),
    reachCeiling: assign(({ context, event }) => u.noteDenied(context, ev(event, 'host.ack'), true)),
    noteTimeout: assign(() => u.noteTimeout()),
    lowerTargetToHostFinal: assign(({ context, event }) => u.lowerTargetToHostFinal(context, ev(event, 'host.done'))),
    completeGrow: assign(({ context }) => u.completeGrow(context, false)),
    completeUnackedGrow: assign(({ context }) => u.completeUnackedGrow(context)),
    settleObservedAsPartial: assign(({ context }) => u.completeGrow(context, true)),
    completeShrink: assign(({ context }) => u.completeShrink(context)),
    recordUnplugFailure: assign(({ context }) => u.recordUnplugFailure(context)),
    holdDone: assign(({ context }) => u.holdDone(context)),
    notePendingPressure: assign(({ context, event }) => {
      const e = event.type === 'psi.pressure' ? ev(event, 'psi.pressure') : ev(event, 'headroom.low');
      return { pendingPressure: context.pendingPressure ?? u.pressureOf(e) };
    }),
    clearPendingPressure: assign({ pendingPressure: null, deniedPressure: null }),
    clearCeiling: assign({ atCeiling: false }),
    regretShrink: assign(({ context }) => u.regretShrink(context, false)),
    regretShrinkDuring: assign(({ context }) => u.regretShrink(context, true)),
    learnFromStall: assign(({ context, event }) => u.learnFromStall(context, ev(event, 'psi.pressure'))),
    settleCooldown: assign(({ context }) => u.settleCooldown(context)),
  },
  guards: {
    canGrow: ({ context }) => canGrow(context),
    canShrink: ({ context }) => u.shrinkTargetFor(context) < context.pluggedBytes,
    canReclaim: ({ context, event }) => u.reclaimTargetFor(context, ev(event, 'host.reclaim')) < context.pluggedBytes,
    isAtCeiling: ({ context }) => context.atCeiling,
    isLinkUp: ({ context }) => context.linkUp,
    canResendHello: ({ context }) => context.helloAttempts * helloResendMs(context.timing) < context.timing.helloTimeoutMs,
    isFullStall: ({ event }) => event.type === 'psi.pressure' && event.severity === 'full',
    hasPendingPressure: ({ context }) => context.pendingPressure !== null,
    hasUnmetNeed: ({ context }) => context.pendingPressure !== null || context.deniedPressure !== null,
    isNotDenied: ({ context }) => context.cooldownAfter !== 'deny',
    isAfterDeny: ({ context }) => context.cooldownAfter === 'deny',
    isAfterShrink: ({ context }) => context.cooldownAfter === 'shrink' || context.cooldownAfter === 'unplug-failure',
    isAfterCompletedShrink: ({ context }) => context.cooldownAfter === 'shrink',
    canRetryAck: ({ context }) => u.canRetryAck(context),
    isShrinkInFlight: ({ context }) => context.request?.kind === 'shrink',
    isGrantedGrow: (a) => isCurrentAck(a, 'granted') && a.context.request?.kind === 'grow',
    isPartialGrow: (a) => isCurrentAck(a, 'partial') && a.context.request?.kind === 'grow',
    isGrantedShrink: (a) => (isCurrentAck(a, 'granted') || isCurrentAck(a, 'partial')) && a.context.request?.kind === 'shrink',
    isGrantedHold: (a) => (isCurrentAck(a, 'granted') || isCurrentAck(a, 'partial')) && a.context.request?.kind === 'hold',
    isDeniedAtMax: (a) => isCurrentAck(a, 'denied') && a.event.type === 'host.ack' && a.event.reason === 'at-max' && a.context.request?.kind === 'grow',
    isDenied: (a) => isCurrentAck(a, 'denied'),
    isBusy: (a) => isCurrentAck(a, 'busy'),
    hasBusyRetriesLeft: ({ context }) => context.busyCount < context.timing.busyMaxRetries,
    isGrowSeenBeforeAck: ({ context, event }) =>
      event.type === 'mem.observed' &&
      context.request?.kind === 'grow' &&
      reached(event.pluggedBytes, context.request.targetBytes, context.limits.blockBytes, 'up'),
    isGrowObserved: ({ context }) =>
      context.targetBytes !== null && reached(context.pluggedBytes, context.targetBytes, context.limits.blockBytes, 'up'),
    isShrinkObserved: ({ context }) =>
      context.targetBytes !== null && reached(context.pluggedBytes, context.targetBytes, context.limits.blockBytes, 'down'),
    isDoneShortOfGrant: ({ context, event }) =>
      event.type === 'host.done' && event.id === context.request?.id && event.pluggedBytes < (context.targetBytes ?? 0),
    isUnplugShort: ({ context, event }) =>
      event.type === 'host.done' &&
      event.id === context.request?.id &&
      event.status !== 'complete' &&
      event.pluggedBytes > (context.targetBytes ?? Number.POSITIVE_INFINITY),
  },
  delays: {
    helloResend: ({ context }) => helloResendMs(context.timing),
    degradedRetry: ({ context }) => degradedRetryMs(context),
    ackTimeout: ({ context }) => u.ackTimeoutFor(context),
    ackRetryBackoff: ({ context }) => u.ackRetryDelayMs(context),
    busyRetry: ({ context }) => context.busyRetryAfterMs,
    growCompletionTimeout: ({ context }) => context.timing.growCompletionTimeoutMs,
    unplugTimeout: ({ context }) =>
      unplugTimeoutMs(
        (context.request?.fromBytes ?? 0) - (context.targetBytes ?? 0),
        context.timing.unplugTimeoutBaseMs,
        context.timing.unplugTimeoutPerGiBMs,
      ),
    cooldown: ({ context }) => context.cooldownMs,
  },
});

const sendCurrentRequest = { type: 'sendResize', params: ({ context }: { context: ResizerContext }) => context.request as ResizeRequest } as const;

/**
 * Host-initiated reclaim while nothing is in flight (idle, cooling): accept and shrink when
 * the surplus above the reserve allows, else refuse with the reason.
 */
const reclaimTransitions = [
  {
    guard: 'canReclaim',
    target: 'awaiting-host',
    actions: [
      'beginReclaim',
      {
        type: 'replyReclaim',
        params: ({ context, event }: Args) => ({
          id: ev(event, 'host.reclaim').id,
          accepted: true,
          bytes: context.pluggedBytes - (context.request?.targetBytes ?? context.pluggedBytes),
        }),
      },
    ],
    description: 'Host-initiated reclaim with surplus above the reserve: accept and shrink.',
  },
  {
    actions: { type: 'replyReclaim', params: ({ event }: Args) => ({ id: ev(event, 'host.reclaim').id, accepted: false, bytes: 0, reason: 'no-surplus' }) },
    description: 'Host-initiated reclaim without surplus: refuse with the reason.',
  },
] as const;

/** The hello is said again this often, never less often than once per handshake. */
const helloResendMs = (t: ResizerContext['timing']): number => Math.min(t.helloResendMs, t.helloTimeoutMs);

/**
 * Wait in `degraded` before the next handshake: the hello interval at first, doubling with
 * each degraded period since the last welcome, up to degradedRetryMs. A lossy link gets its
 * next hellos soon; a host that is down is asked calmly.
 */
const degradedRetryMs = (c: ResizerContext): number =>
  Math.min(c.timing.degradedRetryMs, helloResendMs(c.timing) * 2 ** Math.max(0, c.degradedRounds - 1));

export const resizerMachine = resizerSetup.createMachine({
  id: 'resizer',
  description: 'Guest-side resize controller: one request in flight at a time, every outcome observed before it counts.',
  context: ({ input }) => initialContext(input),
  initial: 'connecting',
  on: {
    'host.connected': {
      target: '.handshake',
      actions: ['linkUp', 'resetHello'],
      description: 'A (new) link to the host: every connection starts with a handshake.',
    },
    'host.disconnected': {
      target: '.degraded',
      actions: 'linkDown',
      description: 'Link lost: drop the request in flight (the host keeps or finishes it; the welcome will tell).',
    },
    'meminfo.sample': { actions: 'adoptSample', description: 'Keep the latest meminfo sample and trend for sizing.' },
    'mem.observed': { actions: 'adoptObserved', description: 'The guest saw its plugged memory change: adopt it as truth.' },
    'grow.measured': { actions: 'adoptGrowLatency', description: 'A grow was measured end to end: update the latency the step is sized by.' },
    'ack.measured': { actions: 'adoptAckRtt', description: 'An ack roundtrip was measured: the ack timeout follows the recent smallest (ackTimeoutFor).' },
  },
  states: {
    connecting: {
      description: 'No link to the host yet.',
    },
    handshake: {
      description: 'hello sent; waiting for the welcome that tells limits and the device\'s real size.',
      entry: [{ type: 'sendHello', params: ({ context }) => ({ idPrefix: context.idPrefix }) }, 'countHello'],
      on: {
        'host.welcome': {
          target: 'ready',
          actions: 'adoptWelcome',
          description: 'Reconcile: adopt the host\'s limits, keep the guest\'s observed size over the host\'s word.',
        },
      },
      after: {
        helloResend: [
          {
            guard: 'canResendHello',
            target: 'handshake',
            reenter: true,
            description: 'No welcome yet: say hello again (a lossy link may have lost either message; the host answers every hello).',
          },
          { target: 'degraded', description: 'No welcome in helloTimeoutMs: the host is not answering.' },
        ],
      },
    },
    degraded: {
      description: 'Host unreachable or silent: no requests; the VM keeps its memory as it is.',
      entry: ['resetHello', 'countDegraded'],
      on: {
        'host.welcome': {
          target: 'ready',
          actions: 'adoptWelcome',
          description: 'A late welcome (a slow or lossy link outran helloTimeoutMs): the host is there after all; reconcile and resume.',
        },
      },
      after: {
        degradedRetry: {
          guard: 'isLinkUp',
          target: 'handshake',
          description: 'The link is up but the host went silent: try the handshake again.',
        },
      },
    },
    ready: {
      description: 'Handshake done: the resize cycle.',
      initial: 'idle',
      on: {
        'host.limits': { actions: 'adoptLimits', description: 'The host changed min/max: a raised max lifts the ceiling.' },
        'host.welcome': {
          target: '.idle',
          actions: 'adoptWelcome',
          description: 'The host re-sent its welcome (its side restarted): reconcile and start over from idle.',
        },
        'host.reclaim': {
          actions: { type: 'replyReclaim', params: ({ event }) => ({ id: ev(event, 'host.reclaim').id, accepted: false, bytes: 0, reason: 'resize-in-progress' }) },
          description: 'Host asks for memory while a resize is under way: refuse with a reason.',
        },
      },
      states: {
        idle: {
          description: 'Watching signals; nothing in flight.',
          on: {
            'psi.pressure': {
              guard: 'canGrow',
              target: 'awaiting-host',
              actions: ['learnFromStall', 'beginGrow'],
              description: 'Reactive growth: a PSI trigger fired (or the polled stall rate crossed its threshold, or a probe below a decayed stall floor saw a stall). The MemAvailable it fired at was too little: shrinks stay above it.',
            },
            'headroom.low': {
              guard: 'canGrow',
              target: 'awaiting-host',
              actions: 'beginGrow',
              description: 'Predictive growth: free memory will cross the reserve sooner than a grow takes plus the margin.',
            },
            'psi.relaxed': [
              {
                guard: 'canShrink',
                target: 'awaiting-host',
                actions: ['clearCeiling', 'beginShrink'],
                description: 'Pressure decayed and free memory exceeds reserve plus a step: give the surplus back.',
              },
              {
                guard: 'isAtCeiling',
                actions: 'clearCeiling',
                description: 'Usage dropped: growth may be asked for again after a denial at the ceiling.',
              },
            ],
            'host.reclaim': reclaimTransitions,
          },
        },
        'awaiting-host': {
          description: 'A resize request (grow, shrink or hold) is out; waiting for the host\'s ack.',
          initial: 'sent',
          states: {
            sent: {
              entry: sendCurrentRequest,
              after: {
                ackTimeout: [
                  {
                    guard: 'canRetryAck',
                    target: 'backoff',
                    description: 'No ack in ackTimeoutMs: back off (capped, exponential, jittered), then resend the SAME id.',
                  },
                  {
                    target: '#resizer.degraded',
                    actions: 'noteTimeout',
                    description: 'Ack retries exhausted: the host is unreachable.',
                  },
                ],
              },
            },
            backoff: {
              after: {
                ackRetryBackoff: { target: 'sent', actions: 'countAttempt', description: 'Backoff over: resend the same request id.' },
              },
            },
            busy: {
              after: {
                busyRetry: { target: 'sent', actions: 'countAttempt', description: 'The host\'s retryAfterMs (capped) passed: resend the same id.' },
              },
            },
          },
          on: {
            'host.ack': [
              { guard: 'isGrantedGrow', target: 'growing', actions: 'adoptGrant', description: 'Grow granted in full: wait to observe it.' },
              {
                guard: 'isPartialGrow',
                target: 'growing',
                actions: 'adoptGrant',
                description: 'Partial grant (less than asked): accept it, cool down after, grow again if pressure persists.',
              },
              { guard: 'isGrantedShrink', target: 'shrinking', actions: 'adoptGrant', description: 'Shrink accepted: wait to observe the unplug.' },
              { guard: 'isGrantedHold', target: 'cooling', actions: ['adoptGrant', 'holdDone'], description: 'The host stopped the unplug at the current size.' },
              {
                guard: 'isDeniedAtMax',
                target: 'idle',
                actions: 'reachCeiling',
                description: 'Denied at the VM\'s ceiling: not an error; no grow requests until limits change or usage drops.',
              },
              { guard: 'isDenied', target: 'cooling', actions: 'noteDenied', description: 'Denied for another reason (budget, rate, min): cool down.' },
              {
                guard: and(['isBusy', 'hasBusyRetriesLeft']),
                target: '.busy',
                actions: 'noteBusy',
                description: 'Host busy: retry the same id after its retryAfterMs.',
              },
              { guard: 'isBusy', target: 'cooling', actions: 'noteDenied', description: 'Host stayed busy: drop the request and cool down.' },
            ],
            'mem.observed': [
              {
                guard: 'isGrowSeenBeforeAck',
                target: 'cooling',
                actions: ['adoptObserved', 'completeUnackedGrow'],
                description: 'The memory asked for is online before its ack (lost or late): the device is the truth, the grow is done; waiting on the ack would leave the next grow waiting too.',
              },
              { actions: 'adoptObserved', description: 'The guest saw its plugged memory change: adopt it as truth.' },
            ],
            'psi.pressure': {
              guard: 'isShrinkInFlight',
              target: 'awaiting-host',
              reenter: true,
              actions: ['learnFromStall', 'beginAbort'],
              description: 'Pressure while a shrink awaits its ack: replace it by a hold or a grow.',
            },
            'headroom.low': {
              guard: 'isShrinkInFlight',
              target: 'awaiting-host',
              reenter: true,
              actions: 'beginAbort',
              description: 'Free memory falling while a shrink awaits its ack: replace it by a hold or a grow.',
            },
          },
        },
        growing: {
          description: 'Granted; waiting until the guest OBSERVES the memory online.',
          always: {
            guard: 'isGrowObserved',
            target: 'cooling',
            actions: 'completeGrow',
            description: 'The guest sees the granted memory: the grow is done.',
          },
          on: {
            'host.done': {
              guard: 'isDoneShortOfGrant',
              actions: 'lowerTargetToHostFinal',
              description: 'Host plugged less than granted: wait only for what it reports.',
            },
          },
          after: {
            growCompletionTimeout: {
              target: 'cooling',
              actions: 'settleObservedAsPartial',
              description: 'Not all of the grant observed in time: what the guest sees counts (partial).',
            },
          },
        },
        shrinking: {
          description: 'Shrink accepted; waiting until the guest observes the memory gone.',
          always: {
            guard: 'isShrinkObserved',
            target: 'cooling',
            actions: 'completeShrink',
            description: 'The guest sees the memory unplugged: the shrink is done.',
          },
          on: {
            'host.done': {
              guard: 'isUnplugShort',
              target: 'cooling',
              actions: 'recordUnplugFailure',
              description: 'Device stayed above the requested size (partial or failed unplug): back off, shrink less next time.',
            },
            'psi.pressure': {
              target: 'awaiting-host',
              actions: ['learnFromStall', 'regretShrinkDuring', 'beginAbort'],
              description: 'Pressure during the unplug: ask the host to stop at the current size (or grow); the shrink went too deep, so shrink less and later next time.',
            },
            'headroom.low': {
              target: 'awaiting-host',
              actions: ['regretShrinkDuring', 'beginAbort'],
              description: 'Free memory falling during the unplug: stop at the current size (or grow); shrink less and later next time.',
            },
          },
          after: {
            unplugTimeout: {
              target: 'cooling',
              actions: 'recordUnplugFailure',
              description: 'Unplug not observed in time: count it as a partial unplug and back off.',
            },
          },
        },
        cooling: {
          description: 'Quiet period after a resize; growth stays possible when memory runs out.',
          on: {
            'headroom.low': [
              {
                guard: and(['canGrow', 'isNotDenied']),
                target: 'awaiting-host',
                actions: ['regretShrink', 'beginGrow'],
                description: 'Free memory will run out before the cooldown ends: grow now. If the cooldown follows a shrink, that shrink is regretted.',
              },
              {
                guard: not('hasPendingPressure'),
                actions: 'notePendingPressure',
                description: 'The host just denied (budget, rate): asking again now would be refused too; remember the need and ask when the cooldown ends.',
              },
            ],
            'psi.pressure': [
              {
                guard: and(['canGrow', 'isFullStall', 'isNotDenied']),
                target: 'awaiting-host',
                actions: ['learnFromStall', 'regretShrink', 'beginGrow'],
                description: 'Full stall (no task could run): grow now. If the cooldown follows a shrink, that shrink is regretted.',
              },
              {
                guard: and(['canGrow', 'isAfterShrink']),
                target: 'awaiting-host',
                actions: ['learnFromStall', 'regretShrink', 'beginGrow'],
                description: 'Pressure after a shrink is fresh evidence, not a stale reading: the shrink cut too deep, grow back now (and shrink less, later, next time).',
              },
              {
                guard: not('hasPendingPressure'),
                actions: ['learnFromStall', 'regretShrink', 'notePendingPressure'],
                description: 'Remember pressure; act on it when the cooldown ends. Pressure right after a shrink means it cut too deep: shrink less and later next time.',
              },
            ],
            'psi.relaxed': { guard: 'hasUnmetNeed', actions: 'clearPendingPressure', description: 'Pressure decayed during the cooldown: forget it (and the need a denial left).' },
            'host.reclaim': reclaimTransitions,
            'host.available': {
              guard: and(['isAfterDeny', 'hasUnmetNeed', 'canGrow']),
              target: 'awaiting-host',
              actions: 'beginPendingGrow',
              description: 'The host says budget freed for this VM since it denied (protocol 2): ask for the denied need (or pressure since) now, not when the host-named wait ends.',
            },
          },
          after: {
            cooldown: [
              {
                guard: and(['hasPendingPressure', 'canGrow']),
                target: 'awaiting-host',
                actions: 'beginPendingGrow',
                description: 'Pressure persisted through the cooldown (e.g. after a partial grant): grow again.',
              },
              {
                guard: and(['isAfterCompletedShrink', 'canShrink']),
                target: 'awaiting-host',
                actions: ['settleCooldown', 'beginShrink'],
                description: 'A completed shrink held through its cooldown and a surplus remains (steps are capped): give the next step back now, not at the next psi.relaxed check.',
              },
              { target: 'idle', actions: 'settleCooldown', description: 'Cooldown over without pressure. If it followed a shrink, the shrink held: the next may ask for more again.' },
            ],
          },
        },
      },
    },
  },
});

export type ResizerMachine = typeof resizerMachine;
