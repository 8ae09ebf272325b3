import type { Reservation } from '../domain/reservation';
import { IN_DOUBT } from './inDoubt';
import type { RedisStore } from './redisStore';
import { ReplyCode, refusal } from './replyCodes';
import { decodeReservationRecord, reservationOf } from './reservationRecord';
import { endCall, extendCall, getReservationCall } from './scriptCalls';
import type { SpanningReservations } from './spanning';

/** A commit or release: the reservation as it now stands, and whether this call changed it. */
export interface FinishOutcome {
  reservation: Reservation;
  changed: boolean;
}

type Reply = (string | number)[];

/**
 * What happens to a reservation after its hold: read, commit, release, extend. Each answers null
 * when Redis no longer has the reservation (Postgres may), and carries an end reached at the home
 * record to the other partitions of a spanning reservation.
 */
export class ReservationOperations {
  constructor(
    private readonly store: RedisStore,
    private readonly spanning: SpanningReservations,
  ) {}

  /** Returns the reservation, or null when Redis no longer has it (Postgres may). */
  async getReservation(id: string): Promise<Reservation | null> {
    const partition = this.store.keys.partitionOfReservation(id);
    this.store.assertServing(partition);
    const reply = await this.store.run<Reply>(getReservationCall(this.store, id));
    if (reply[0] === ReplyCode.ReservationNotFound) return this.notFound(partition);
    return reservationOf(id, decodeReservationRecord(String(reply[1])), Number(reply[2]));
  }

  /** Commits; a repeat answers the committed reservation again and changes nothing. */
  async commit(id: string): Promise<FinishOutcome | null> {
    const reply = await this.end('commit', id);
    if (reply === null) return null;
    if (reply[0] !== ReplyCode.Ok && reply[0] !== ReplyCode.Repeated) throw refusal(reply[0] as ReplyCode);
    return { reservation: await this.reservationIn(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  /** Releases; a repeat, or a reservation that had expired, answers with its status. */
  async release(id: string): Promise<FinishOutcome | null> {
    const reply = await this.end('release', id);
    if (reply === null) return null;
    if (reply[0] === ReplyCode.ReservationCommitted) throw refusal(ReplyCode.ReservationCommitted);
    return { reservation: await this.reservationIn(id, reply), changed: reply[0] === ReplyCode.Ok };
  }

  async extend(id: string, ttlSeconds: number): Promise<Reservation | null> {
    const partition = this.store.keys.partitionOfReservation(id);
    this.store.assertServing(partition);
    const reply = await this.store.run<Reply>(extendCall(this.store, id, ttlSeconds), { consequence: IN_DOUBT.finish });
    if (reply[0] === ReplyCode.ReservationNotFound) return this.notFound(partition);
    const reservation = await this.reservationIn(id, reply);
    if (reply[0] !== ReplyCode.Ok) throw refusal(reply[0] as ReplyCode);
    return reservation;
  }

  private async end(script: 'commit' | 'release', id: string): Promise<Reply | null> {
    const partition = this.store.keys.partitionOfReservation(id);
    this.store.assertServing(partition);
    const reply = await this.store.run<Reply>(endCall(this.store, script, id), { consequence: IN_DOUBT.finish });
    return reply[0] === ReplyCode.ReservationNotFound ? this.notFound(partition) : reply;
  }

  /** Not in Redis: null (Postgres may have it) unless Redis lost that partition's data (503). */
  private async notFound(partition: number): Promise<null> {
    await this.store.confirmNotFound(partition);
    return null;
  }

  /**
   * The reservation a script answered with as it now stands ({code, record text}); an end it
   * reached is carried to the other partitions of a spanning reservation first.
   */
  private async reservationIn(id: string, reply: Reply): Promise<Reservation> {
    const record = decodeReservationRecord(String(reply[1]));
    await this.spanning.afterHome(id, record);
    // Status as stored: the script itself decided expiry by Redis time.
    return reservationOf(id, record, 0);
  }
}
