'use strict';

/**
 * Runs asynchronous jobs with at most `concurrency` of them in flight.
 */
class Limiter {
  /**
   * Creates a Limiter instance.
   *
   * @param {Number} [concurrency=Infinity] The most jobs running at once;
   *     0 means no limit
   */
  constructor(concurrency) {
    this.concurrency = concurrency || Infinity;
    this.jobs = [];
    this.pending = 0;
    this._finished = () => {
      this.pending--;
      this._startNext();
    };
  }

  /**
   * Queues a job. It is called with a function to call once it has
   * finished.
   *
   * @param {function(Function)} job The job
   * @public
   */
  add(job) {
    this.jobs.push(job);
    this._startNext();
  }

  /**
   * Starts queued jobs while there is room.
   *
   * @private
   */
  _startNext() {
    while (this.pending < this.concurrency && this.jobs.length > 0) {
      this.pending++;
      this.jobs.shift()(this._finished);
    }
  }
}

module.exports = Limiter;
