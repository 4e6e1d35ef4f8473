// The access log's bounded writer, over a fake stream and a fake clock.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import sinon from 'sinon';
import { LogWriter } from '../../lib/demo/log-writer.js';

class FakeStream extends EventEmitter {
  readonly chunks: string[] = [];
  accepting = true;
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return this.accepting;
  }
}

describe('LogWriter', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('writes the lines of one turn of the loop in one write', async () => {
    const stream = new FakeStream();
    const log = new LogWriter(stream);
    log.line('a');
    log.line('b');
    expect(stream.chunks, 'nothing during the turn').to.deep.equal([]);
    await clock.tickAsync(0);
    expect(stream.chunks).to.deep.equal(['a\nb\n']);
    expect(log.stats()).to.deep.equal({ written: 2, dropped: 0, pending: 0, pendingBytes: 0 });
  });

  it('stops writing while the stream is full, keeps at most its bound, drops and counts the rest, and resumes on drain', async () => {
    const stream = new FakeStream();
    const log = new LogWriter(stream, 10);
    stream.accepting = false;
    log.line('1234');
    await clock.tickAsync(0);
    expect(stream.chunks).to.deep.equal(['1234\n']);
    log.line('abcd'); // 5 bytes: buffered
    log.line('efgh'); // 10 bytes: buffered, at the bound
    log.line('ijkl'); // over it: dropped
    await clock.tickAsync(0);
    expect(stream.chunks, 'nothing more until drain').to.have.length(1);
    expect(log.stats()).to.deep.equal({ written: 1, dropped: 1, pending: 2, pendingBytes: 10 });
    stream.accepting = true;
    stream.emit('drain');
    expect(stream.chunks.at(-1)).to.equal('abcd\nefgh\n');
    expect(log.stats()).to.deep.equal({ written: 3, dropped: 1, pending: 0, pendingBytes: 0 });
  });
});
