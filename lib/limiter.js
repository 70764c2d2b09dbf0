'use strict';

/**
 * A queue of asynchronous jobs with at most `concurrency` of them in flight.
 *
 * Jobs start in the order they were added. Starting is iterative: a job
 * that finishes synchronously, or adds more jobs, while the queue is being
 * worked through does not nest another pass, it just lets the running pass
 * go on, so a long run of synchronous jobs never deepens the stack.
 */
class Limiter {
  /**
   * Creates a Limiter instance.
   *
   * @param {Number} [concurrency=Infinity] The most jobs running at once;
   *     0 means no limit
   */
  constructor(concurrency) {
    // The three fields below are public in ws (its tests read them).
    this.concurrency = concurrency ? concurrency : Infinity;
    this.pending = 0;
    this.jobs = [];

    // Whether a pass over the queue is under way (see `_pump()`).
    this._pumping = false;

    // Every job gets this same function to call when it is done.
    this._release = () => {
      this.pending -= 1;
      this._pump();
    };
  }

  /**
   * Queues a job and starts it right away if there is room. The job is
   * called with a function to call once it has finished.
   *
   * @param {function(Function)} job The job
   * @public
   */
  add(job) {
    this.jobs.push(job);
    this._pump();
  }

  /**
   * Starts queued jobs, oldest first, for as long as there is room.
   *
   * @private
   */
  _pump() {
    if (this._pumping) return;

    this._pumping = true;
    try {
      while (this.jobs.length !== 0 && this.pending < this.concurrency) {
        const next = this.jobs.shift();

        this.pending += 1;
        next(this._release);
      }
    } finally {
      this._pumping = false;
    }
  }
}

module.exports = Limiter;
