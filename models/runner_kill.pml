/*
 * The kill of a sandboxed task (E8, src/executor/executor.h; DESIGN.md,
 * Sandboxed workers 1): the manager may stop the task a proxy runs in its
 * child process, while the child may also die by itself at any moment.
 *   proxy:   in_task := IN; run (the child answers, or is seen dead);
 *            CAS in_task IN -> OUT; if it worked, reap the child if it
 *            died; else wait for kill_done, then kill and reap it, clear
 *            kill_done and set in_task OUT.  A reaped child is replaced
 *            (a new generation) before the next task.
 *   manager: CAS in_task IN -> KILLING; signal the child (its pid, which
 *            must not have been reaped: a reaped pid may be reused);
 *            kill_done := 1, wake it.
 * Checked: the manager's signal always reaches the generation it CASed
 * for, before that child is reaped; no invalid end state (no proxy left
 * waiting).  BROKEN=1: the proxy reaps without waiting for kill_done:
 * the signal must then hit a reaped child or its replacement.
 */
#define NF 1
#include "futex.pml"

#ifndef BROKEN
#define BROKEN 0
#endif
#define TASKS 2

#define T_OUT 0
#define T_IN 1
#define T_KILLING 2
#define ALIVE 0
#define DEAD 1
#define REAPED 2
#define kill_done fw[0]

byte in_task = T_OUT;
byte child = ALIVE;  /* the current generation's state */
byte gen = 0;
byte finished = 0;

proctype proxy()
{
	byte fr, wk, sel, pick;
	bool out;
	byte t;
	for (t : 1 .. TASKS) {
		in_task = T_IN;
		/* run: one exchange with the child, alive or not */
		atomic {
			if
			:: in_task == T_IN -> in_task = T_OUT; out = true
			:: else -> out = false
			fi
		}
		if
		:: out ->
			atomic {
				if
				:: child == DEAD -> child = REAPED
				:: else
				fi
			}
		:: else ->
#if !BROKEN
			do
			:: kill_done == 1 -> break
			:: else -> futex_wait(0, 0, fr)
			od;
#endif
			child = REAPED;
			kill_done = 0;
			in_task = T_OUT
		fi;
		atomic {
			if
			:: child == REAPED -> child = ALIVE; gen++
			:: else
			fi
		}
	}
	finished = 1
}

proctype manager()
{
	byte fr, wk, sel, pick;
	byte g;
	do
	:: atomic { in_task == T_IN -> in_task = T_KILLING; g = gen }
		atomic {
			assert(gen == g && child != REAPED);
			if
			:: child == ALIVE -> child = DEAD
			:: else
			fi
		}
		kill_done = 1;
		futex_wake(0, 1)
	:: finished == 1 -> break
	od
}

/* The child dies by itself (a crash, the OOM killer), at most once. */
proctype mortal()
{
	atomic { child == ALIVE -> child = DEAD }
}

init
{
	atomic {
		run proxy();
		run manager();
		run mortal()
	}
}
