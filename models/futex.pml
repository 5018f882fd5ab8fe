/*
 * Futex words for the models.  fw[f] is word f; fq[f] has bit p set while
 * process p sleeps on it.  futex_wait compares and enqueues in one step, as
 * the kernel does under its hash-bucket lock; futex_wake dequeues up to n
 * sleepers, any of them.  A sleeper that times out (or is interrupted)
 * dequeues itself.  Each using proctype declares: byte fr, wk, sel, pick.
 */
#ifndef NF
#define NF 1
#endif
#define EAGAIN 1
#define ETIMEDOUT 2

int fw[NF];
byte fq[NF];

/* Sleep on word f while it holds val; res: 0 woken, EAGAIN. */
inline futex_wait(f, val, res)
{
	atomic {
		if
		:: fw[f] != (val) -> res = EAGAIN
		:: else -> fq[f] = fq[f] | (1 << _pid); res = 0
		fi
	}
	if
	:: res == 0 -> (fq[f] & (1 << _pid)) == 0
	:: else
	fi
}

/* The same with a deadline that may pass at any moment: res ETIMEDOUT if
 * it passed while still asleep.  A wake that dequeued us first wins, as in
 * the kernel (futex_wait returns 0 if futex_unqueue finds us gone). */
inline futex_wait_timed(f, val, res)
{
	atomic {
		if
		:: fw[f] != (val) -> res = EAGAIN
		:: else -> fq[f] = fq[f] | (1 << _pid); res = 0
		fi
	}
	if
	:: res == 0 ->
		atomic {
			if
			:: (fq[f] & (1 << _pid)) == 0
			:: (fq[f] & (1 << _pid)) != 0 ->
				fq[f] = fq[f] & ~(1 << _pid); res = ETIMEDOUT
			fi
		}
	:: else
	fi
}

/* futex_waitv over two words: sleep while fw[f] == val and fw[g] == gval,
 * checked and enqueued on both in one step; woken from either, then off
 * both queues. */
inline futex_waitv2(f, val, g, gval, res)
{
	atomic {
		if
		:: fw[f] != (val) || fw[g] != (gval) -> res = EAGAIN
		:: else ->
			fq[f] = fq[f] | (1 << _pid);
			fq[g] = fq[g] | (1 << _pid);
			res = 0
		fi
	}
	if
	:: res == 0 ->
		atomic {
			((fq[f] & (1 << _pid)) == 0 || (fq[g] & (1 << _pid)) == 0);
			fq[f] = fq[f] & ~(1 << _pid);
			fq[g] = fq[g] & ~(1 << _pid)
		}
	:: else
	fi
}

/* Wake up to n sleepers of word f, any of them. */
inline futex_wake(f, n)
{
	atomic {
		wk = 0;
		do
		:: wk < n && fq[f] != 0 ->
			pick = 255;
			for (sel : 0 .. 7) {
				if
				:: (fq[f] & (1 << sel)) != 0 ->
					if
					:: pick = sel
					:: skip
					fi
				:: else
				fi
			}
			if
			:: pick == 255 ->
				sel = 7;
				do
				:: (fq[f] & (1 << sel)) != 0 -> break
				:: else -> sel--
				od;
				pick = sel
			:: else
			fi;
			fq[f] = fq[f] & ~(1 << pick);
			wk++
		:: else -> break
		od;
		sel = 0; pick = 0
	}
}
