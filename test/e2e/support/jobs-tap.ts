/** A tap on the jobs topic: records every JobMessage the ingest function publishes. */
import { randomBytes } from 'node:crypto';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';

export interface TappedJob {
  jobId: string;
  data: Buffer;
  attributes: Record<string, string>;
}

export class JobsTap {
  readonly jobs: TappedJob[] = [];

  private constructor(private readonly subscription: Subscription) {
    subscription.on('message', (m: Message) => {
      let jobId = '';
      try {
        jobId = String((JSON.parse(m.data.toString('utf8')) as { jobId?: unknown }).jobId ?? '');
      } catch {
        // recorded with an empty id
      }
      this.jobs.push({ jobId, data: m.data, attributes: { ...m.attributes } });
      m.ack();
    });
  }

  static async start(pubsub: PubSub, topic: string): Promise<JobsTap> {
    const [sub] = await pubsub.createSubscription(topic, `jobs-tap-${randomBytes(4).toString('hex')}`, { ackDeadlineSeconds: 30 });
    return new JobsTap(pubsub.subscription(sub.name));
  }

  forJob(jobId: string): TappedJob[] {
    return this.jobs.filter((j) => j.jobId === jobId);
  }

  async stop(): Promise<void> {
    await this.subscription.close();
    await this.subscription.delete().catch(() => undefined);
  }
}
