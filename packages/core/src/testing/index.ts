export { FakeClock, flushMicrotasks } from "./fake-clock";
export { SeededRandom, SequenceRandom } from "./seeded-random";
