using System.Globalization;
using ConvNet.Gpu.Distributed;

// Runs one collective scenario on every rank of an mpirun job and prints "rank R: ..." lines the tests read.
//   allreduce N SEED   every rank sums N seeded floats; each rank recomputes all ranks' inputs and checks the result
//                      against the float64 rank-order sum (bit-exact) and prints a digest of the result
//   allgather          ranks gather byte strings of different lengths
//   hang RANK          RANK sleeps instead of joining an all-reduce; the others time out (WORKER_TIMEOUT seconds)
//   bench N ITERS      times ITERS all-reduces of N floats (after 10 warm-up ones); prints median and min microseconds
// Exit codes: 0 success, 1 a check failed, 3 a collective timed out (after MPI_Abort), 2 usage.
string scenario = args.Length > 0 ? args[0] : "";
var environment = LaunchEnvironment.Detect();
double timeoutSeconds = double.Parse(Environment.GetEnvironmentVariable("WORKER_TIMEOUT") ?? "60", CultureInfo.InvariantCulture);
using var collectives = Collectives.Create(environment, TimeSpan.FromSeconds(timeoutSeconds));
int rank = collectives.Rank, size = collectives.WorldSize;
try
{
    switch (scenario)
    {
        case "allreduce":
        {
            int n = int.Parse(args[1], CultureInfo.InvariantCulture);
            int seed = int.Parse(args[2], CultureInfo.InvariantCulture);
            float[] Data(int r)
            {
                var random = new Random(seed * 1000 + r);
                var d = new float[n];
                for (int i = 0; i < n; i++) d[i] = (float)(random.NextDouble() * 2 - 1) * (i % 7 + 1);
                return d;
            }
            var buffer = Data(rank);
            var pending = collectives.StartAllReduceSum(buffer, "test all-reduce");
            while (!pending.Poll()) Thread.Yield();
            int wrong = 0;
            var inputs = Enumerable.Range(0, size).Select(Data).ToArray();
            for (int i = 0; i < n; i++)
            {
                double sum = 0;
                for (int r = 0; r < size; r++) sum += inputs[r][i];
                if (BitConverter.SingleToInt32Bits((float)sum) != BitConverter.SingleToInt32Bits(buffer[i])) wrong++;
            }
            ulong digest = 1469598103934665603UL;
            foreach (float v in buffer) digest = (digest ^ (uint)BitConverter.SingleToInt32Bits(v)) * 1099511628211UL;
            Console.WriteLine($"rank {rank}: allreduce n={n} wrong={wrong} digest={digest:x16}");
            return wrong == 0 ? 0 : 1;
        }
        case "allgather":
        {
            var parts = collectives.AllGather(System.Text.Encoding.UTF8.GetBytes(new string((char)('a' + rank), rank + 1)), "test all-gather");
            Console.WriteLine($"rank {rank}: allgather {string.Join(",", parts.Select(p => System.Text.Encoding.UTF8.GetString(p)))}");
            return 0;
        }
        case "hang":
        {
            int sleeper = int.Parse(args[1], CultureInfo.InvariantCulture);
            if (rank == sleeper)
            {
                Console.WriteLine($"rank {rank}: hanging");
                Thread.Sleep(Timeout.Infinite);
            }
            var started = DateTime.UtcNow;
            try
            {
                collectives.AllReduceSum(new float[1000], "test all-reduce with a hung rank");
            }
            catch (CollectiveTimeoutException e)
            {
                Console.WriteLine($"rank {rank}: timed out after {(DateTime.UtcNow - started).TotalSeconds:0.0} s: {e.Message}");
                Console.Out.Flush();
                ((ConvNet.Gpu.Distributed.Mpi.MpiCollectives)collectives).Abort(3);
            }
            return 1;
        }
        case "bench":
        {
            int n = int.Parse(args[1], CultureInfo.InvariantCulture);
            int iterations = int.Parse(args[2], CultureInfo.InvariantCulture);
            var buffer = new float[n];
            var times = new List<double>();
            for (int i = -10; i < iterations; i++)
            {
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                collectives.AllReduceSum(buffer, "bench all-reduce");
                if (i >= 0) times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
            }
            times.Sort();
            Console.WriteLine(FormattableString.Invariant(
                $"rank {rank}: bench n={n} ({n * 4 / 1024.0:0.#} KiB) x{iterations}: median {times[times.Count / 2]:0} us, min {times[0]:0} us, p90 {times[times.Count * 9 / 10]:0} us"));
            return 0;
        }
        default:
            Console.Error.WriteLine("usage: ConvNet.Gpu.MpiWorker allreduce N SEED | allgather | hang RANK | bench N ITERS");
            return 2;
    }
}
catch (CollectiveException e)
{
    Console.Error.WriteLine($"rank {rank}: {e.GetType().Name}: {e.Message}");
    return 1;
}
