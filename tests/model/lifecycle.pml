/* tests/model/lifecycle.pml: the container lifecycle and locking protocol of capsa, as the code in
 * src/libcapsa/{container,state,control,exec}.c implements it, for one container id.
 *
 * What is modelled (one line per piece of the real thing):
 *  - the state directory <root>/<id>: `dirgen` names the inode now at that path (0: none); every
 *    mkdir makes a new one.  Its lock is flock(2) on that inode: lk[gen] is the holder (0: free).
 *    A SIGKILLed command loses its locks (the kernel closes its fds).
 *  - its contents, reached by path: state.json (`sj`, the init it names `sjpid`, `started`), the
 *    exec fifo (`fifo`); the cgroup (`cg`, one path per id) and its freezer (`frozen`).
 *  - the status capsa computes from them (capsa_state_status, status_unlocked): nothing is stored.
 *  - one init per create (ini[c]) and the workload it execs; exec'd processes (`procs`).
 *  - the commands create, run (foreground), start, exec, kill (SIGKILL), pause, resume, delete,
 *    delete --force, checkpoint (with and without --leave-running), restore (--detach and in the
 *    foreground), as concurrent processes; `state` as a monitor that may look at any moment.
 *  - checkpoint/restore (src/libcapsa/checkpoint.c): CRIU's dump either saves the workload into
 *    the image (`img`, of the workload `imgof`) and, without --leave-running, kills it, or fails
 *    and leaves it running; restore makes the state dir and cgroup as create does, and CRIU's
 *    restore either puts a process continuing the image's workload into the cgroup (a new init
 *    slot whose `lineage` is the image's: the same workload, not a new run) or fails.  An image
 *    may exist from the start (of a workload of an earlier container, lineage 0), so that 2
 *    clients can race a restore; pre-dump, lazy pages, CRIU's own internals are abstracted.
 *  - a SIGKILL of the runtime at any of its fault points (src/libcapsa/fault.h; the same names),
 *    at most one per run (CRASHES), and the init's own fault points.
 * Abstracted away: hooks, terminals, user namespaces, VM mode, pid reuse (the start_time check
 * makes it invisible), two-stage spawn, errors other than those the protocol causes.
 *
 * The transitions capsa reports with CAPSA_TRACE_FILE are the TRANS(...) lines below; tests/model/
 * transitions.txt lists them, check.sh checks the model and the table agree, and
 * tests/model-trace.bats checks the real binary makes no transition the table lacks. */

#ifndef NCLIENTS
#define NCLIENTS 2 /* concurrent clients */
#endif
#ifndef NCMDS
#define NCMDS 2 /* commands per client */
#endif
#ifndef CRASHES
#define CRASHES 1 /* SIGKILLs of the runtime (or the init) per run */
#endif
#define MAXC 5 /* inits: NCLIENTS * NCMDS creates at most, index 0 unused */
#define MAXG 6 /* directory generations */

/* Reported status. */
#define S_NONE 0     /* `state`: does not exist */
#define S_NOSTATE 1  /* `state`: no state file (a create or delete SIGKILLed mid-way) */
#define S_CREATING 2
#define S_CREATED 3
#define S_RUNNING 4
#define S_PAUSED 5
#define S_STOPPED 6

/* Life of an init. */
#define I_NONE 0
#define I_SETUP 1 /* cloned, preparing; dies with its runtime (PR_SET_PDEATHSIG, sync socket) */
#define I_WAIT 2  /* told to go: waits on the exec fifo (create) or the start message (run) */
#define I_FIFO 3  /* opened the fifo's write end and wrote its byte: about to execve */
#define I_WORK 4  /* the workload runs */
#define I_DEAD 5

byte dirgen, nextgen;
bool img = true;  /* a checkpoint image exists (initially: of an earlier container's workload) */
byte imgof;       /* the lineage of the workload the image holds (0: an earlier container's) */
byte lineage[MAXC]; /* the workload init c runs: its own (c) or, restored, the image's */
byte lk[MAXG];
bool sj, started, fifo, cg, frozen;
byte sjpid;
byte ini[MAXC];
bool runmode[MAXC]; /* the init of a `run`: waits for its runtime's start message */
byte runs[MAXC];    /* times the workload of init c was exec'd */
bool reader;        /* start holds the fifo's read end */
byte procs;         /* exec'd processes alive in the container */
byte crashes;
byte ncreates, wins, removals, creating, clients_done;

#define alive(c) (ini[c] >= I_SETUP && ini[c] <= I_WORK)

/* capsa_state_status, for a reader holding the lock or not (status_unlocked). */
inline status(s, locked)
{
  if
  :: dirgen == 0 -> s = S_NONE
  :: dirgen != 0 && !sj -> s = S_NOSTATE
  :: dirgen != 0 && sj && sjpid == 0 ->
     s = S_CREATING;
     if
     :: !locked && lk[dirgen] == 0 -> s = S_STOPPED
     :: else -> skip
     fi
  :: dirgen != 0 && sj && sjpid != 0 && !alive(sjpid) -> s = S_STOPPED
  :: dirgen != 0 && sj && sjpid != 0 && alive(sjpid) ->
     if
     :: !started && fifo && !frozen -> s = S_CREATED
     :: !started && fifo && frozen -> s = S_PAUSED
     :: else -> s = (frozen -> S_PAUSED : S_RUNNING)
     fi
  fi
}

/* Commands, as capsa names them in its trace. */
#define CMD_create 1
#define CMD_run 2
#define CMD_start 3
#define CMD_kill 4
#define CMD_pause 5
#define CMD_resume 6
#define CMD_delete 7
#define CMD_checkpoint 8
#define CMD_restore 9

/* The table of transitions (tests/model/transitions.txt, made into Promela by
 * tests/model/table.sh): ALLOWED(from, to, cmd), ISROW(row, from, to, cmd), NROWS. */
#include "transitions.pml"

byte row; /* checking that the table has no row the model cannot take: ROW=n in pan's env */

/* A state transition capsa makes (and writes to CAPSA_TRACE_FILE): one of the table's. */
inline TRANS(from, to, cmd)
{
  assert(ALLOWED(from, to, cmd));
  assert(row == 0 || !ISROW(row, from, to, cmd))
}

/* capsa_fault_point(POINT): the runtime SIGKILLs itself here, if the budget allows.  POINT is
 * the name in the code with ':' and '-' made '_' (create:after-state-dir: create_after_state_dir). */
#define fault(point) \
  if \
  :: crashes < CRASHES -> crashes++; goto crashed \
  :: true -> skip \
  fi

/* SIGKILL of a process: the kernel closes its fds (its locks go, start's fifo reader goes) and
 * inits still tied to it die (the pdeath signal, EOF on the sync socket). */
inline die()
{
  atomic {
    g = 1;
    do
    :: g < MAXG -> if :: lk[g] == _pid -> lk[g] = 0 :: else -> skip fi; g++
    :: g >= MAXG -> break
    od;
    if :: holds_reader -> reader = false :: else -> skip fi;
    if
    :: ci != 0 && (ini[ci] == I_SETUP || (runmode[ci] && ini[ci] == I_WAIT)) -> kill_init(ci)
    :: else -> skip
    fi
  }
}

inline kill_init(c)
{
  ini[c] = I_DEAD;
  if :: sjpid == c -> procs = 0 :: else -> skip fi /* its pid namespace goes with it */
}

inline lock(gen)
{
  atomic { lk[gen] == 0 -> lk[gen] = _pid }
}

inline unlock(gen)
{
  if :: gen != 0 && lk[gen] == _pid -> lk[gen] = 0 :: else -> skip fi
}

/* capsa_state_open_locked: open the path, flock, then fstat: a directory deleted meanwhile has no
 * links (nlink 0) and the command says the container does not exist. */
inline open_locked(ok)
{
  mygen = dirgen;
  if
  :: mygen == 0 -> ok = false
  :: else ->
     lock(mygen);
     if
     :: dirgen == mygen -> ok = true
     :: else -> unlock(mygen); ok = false
     fi
  fi
}

/* capsa_state_write: a temporary file renamed over state.json, by path. */
inline state_write(spid, st, ok)
{
  atomic {
    if
    :: dirgen == 0 -> ok = false
    :: else -> sj = true; sjpid = spid; started = st; ok = true
    fi
  }
}

/* capsa_state_remove_dir: unlink every entry, then rmdir, by path. */
inline remove_dir()
{
  atomic {
    if
    :: dirgen != 0 && sj && sjpid != 0 ->
       status(s, true); TRANS(s, S_NONE, tcmd)
    :: else -> skip
    fi;
    sj = false; fifo = false
  };
  fault(state_before_rmdir);
  atomic {
    if :: dirgen != 0 && !sj && !fifo -> dirgen = 0; removals++ :: else -> skip fi
  }
}

/* cgroup_destroy: SIGKILL what is left in the cgroup, then remove it. */
inline cgroup_destroy()
{
  atomic {
    g = 1;
    do
    :: g < MAXC -> if :: alive(g) -> kill_init(g) :: else -> skip fi; g++
    :: g >= MAXC -> break
    od;
    procs = 0; cg = false; frozen = false
  }
}

/* do_create (create, and run's first half). */
inline do_create(forrun, ok)
{
  planned = false;
  tcmd = (forrun -> CMD_run : CMD_create);
  atomic {
    if
    :: dirgen == 0 -> nextgen++; dirgen = nextgen; mygen = dirgen; creating++
    :: else -> ok = false; goto create_end /* "already exists" */
    fi
  };
  lock(mygen);
#ifndef MUTANT_CREATE_NO_RECHECK
  /* a delete that locked the new directory first removed it: fail, and remove nothing by path
   * (the path may be another create's directory by now) */
  if :: dirgen != mygen -> ok = false; goto create_gone :: else -> skip fi;
#endif
  fault(create_after_state_dir);
  /* config.json through the directory's fd */
  if :: dirgen != mygen -> goto create_fail :: else -> skip fi;
  planned = true;
  state_write(0, false, ok);
  if :: !ok -> goto create_fail :: else -> skip fi;
  TRANS(S_NONE, S_CREATING, tcmd);
  fault(create_after_cgroup_plan);
  cg = true;
  fault(create_after_cgroup);
  if
  :: !forrun ->
     atomic { if :: dirgen == 0 || fifo -> ok = false :: else -> fifo = true; ok = true fi };
     if :: !ok -> goto create_fail :: else -> skip fi;
     fault(create_after_exec_fifo)
  :: else -> skip
  fi;
  atomic { ncreates++; ci = ncreates; runmode[ci] = forrun; lineage[ci] = ci; ini[ci] = I_SETUP };
  fault(create_after_clone);
  /* the init prepares (it may die at init:after-mounts); the runtime waits for it */
  if :: ini[ci] != I_SETUP -> goto create_fail :: else -> skip fi;
  fault(create_after_mounts);
  atomic {
    state_write(ci, forrun, ok);
    if :: ok -> status(s, true); TRANS(S_CREATING, s, tcmd) :: else -> skip fi
  };
  if :: !ok -> goto create_fail :: else -> skip fi;
  fault(create_after_state_pid);
  atomic { if :: ini[ci] == I_SETUP -> ini[ci] = I_WAIT; ok = true :: else -> ok = false fi };
  if :: !ok -> goto create_fail :: else -> skip fi;
  fault(create_after_created);
  wins++;
  assert(dirgen == mygen); /* the winner owns the directory it made */
  ok = true;
  goto create_end;
create_fail:
  atomic { if :: ci != 0 && alive(ci) -> kill_init(ci) :: else -> skip fi };
  if :: planned -> cgroup_destroy() :: else -> skip fi;
  remove_dir();
create_gone:
  ok = false;
create_end:
  skip
}

/* capsa_container_start */
inline cmd_start()
{
  open_locked(ok);
  if :: !ok -> goto start_end :: else -> skip fi;
  atomic { status(s, true); ok = (s == S_CREATED); k = sjpid };
  if :: !ok -> goto start_end :: else -> skip fi;
#ifdef MUTANT_FIFO_OPEN_FIRST
  /* (the code before the fix: open the fifo, then unlink it) */
  atomic { if :: fifo -> reader = true; holds_reader = true :: else -> ok = false fi };
  if :: !ok -> goto start_end :: else -> skip fi;
  atomic { fifo = false; TRANS(S_CREATED, S_RUNNING, CMD_start) };
#else
  /* rename exec.fifo away: from here on the container is no longer `created` ... */
  atomic { if :: fifo -> fifo = false; TRANS(S_CREATED, S_RUNNING, CMD_start) :: else -> ok = false fi };
  if :: !ok -> goto start_end :: else -> skip fi;
  fault(start_after_fifo_rename);
  /* ... then open its read end (the init may go on from here) and unlink it */
  atomic { reader = true; holds_reader = true };
#endif
  /* poll: the init wrote its byte, or died */
  if
  :: ini[k] >= I_FIFO && ini[k] != I_DEAD -> ok = true
  :: ini[k] == I_DEAD -> ok = false
  fi;
  if :: !ok -> goto start_end :: else -> skip fi;
  fault(start_after_fifo_open);
  state_write(k, true, ok);
  fault(start_after_state_write);
  /* read to EOF: the execve closed the fifo, or the init died */
  (ini[k] == I_WORK || ini[k] == I_DEAD);
start_end:
  atomic { reader = false; holds_reader = false; unlock(mygen) }
}

/* delete_locked (delete, delete --force, and run at the workload's exit) */
inline delete_locked(force)
{
  status(s, true);
  if
  :: s == S_RUNNING && !force -> goto del_end /* "not stopped: running" */
  :: else -> skip
  fi;
  atomic {
    if
    :: s != S_STOPPED && sjpid != 0 && alive(sjpid) -> kill_init(sjpid); TRANS(s, S_STOPPED, tcmd)
    :: else -> skip
    fi
  };
  fault(delete_after_kill);
  cgroup_destroy();
  fault(delete_after_cgroup);
  remove_dir();
del_end:
  skip
}

/* capsa_container_delete: open and lock; the state of a create killed before its state file is
 * only removed; else delete_locked.  `own` (run, restore in the foreground, checkpoint: the
 * delete after the workload ended): only the container whose init is `mine`
 * (capsa_container_delete_own: pid and start time). */
inline cmd_delete(force)
{
#ifdef MUTANT_RUN_DELETES_ANY
  if :: tcmd == CMD_run -> own = false :: else -> skip fi;
#endif
#ifdef MUTANT_CHECKPOINT_DELETES_ANY
  if :: tcmd == CMD_checkpoint -> own = false :: else -> skip fi;
#endif
#ifdef MUTANT_RESTORE_DELETES_ANY
  if :: tcmd == CMD_restore -> own = false :: else -> skip fi;
#endif
  open_locked(ok);
  if
  :: !ok -> skip /* does not exist (with --force: success) */
  :: ok && !sj && !own -> remove_dir()
  :: ok && sj && (!own || sjpid == mine) -> delete_locked(force)
  /* the id names another container by now (its own was deleted, the id reused) */
  :: ok && (!sj || sjpid != mine) && own -> skip
  fi;
  unlock(mygen)
}

/* capsa_container_create, and capsa_container_run in the foreground (the engines' `run --rm`):
 * do_create, then for run: the start message, wait for the exit, delete_locked (forced). */
inline cmd_create_run(forrun)
{
  do_create(forrun, ok);
  if
  :: !ok || !forrun -> goto cr_end
  :: else -> skip
  fi;
  fault(run_after_create);
  /* the start message: the init execs the workload */
  atomic {
    if
    :: ini[ci] == I_WAIT -> ini[ci] = I_WORK; runs[ci]++
    :: else -> skip
    fi
  };
  fault(run_after_start);
  unlock(mygen); /* other commands may work on the container while run waits */
  (ini[ci] == I_DEAD);
  fault(run_after_exit);
  force = true; then_delete = true; own = true; mine = ci /* the client goes on with delete_locked, forced */
cr_end:
  atomic { unlock(mygen); if :: mygen != 0 && creating > 0 -> creating-- :: else -> skip fi }
}

/* capsa_container_kill, SIGKILL */
inline cmd_kill()
{
  open_locked(ok);
  if
  :: ok ->
     atomic {
       status(s, true);
       if
       :: (s == S_CREATED || s == S_RUNNING || s == S_PAUSED) && cg ->
          kill_init(sjpid); status(t, true); TRANS(s, t, CMD_kill)
       :: (s == S_CREATED || s == S_RUNNING) && !cg ->
          kill_init(sjpid); status(t, true); TRANS(s, t, CMD_kill)
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
  unlock(mygen)
}

/* set_frozen: pause (running or created) and resume (paused) through the cgroup's freezer */
inline cmd_freeze(want)
{
  open_locked(ok);
  if
  :: ok && sj ->
     atomic {
       status(s, true);
       if
       :: want && (s == S_RUNNING || s == S_CREATED) && cg ->
          frozen = true; TRANS(s, S_PAUSED, CMD_pause)
       :: !want && s == S_PAUSED && cg -> frozen = false; status(t, true); TRANS(S_PAUSED, t, CMD_resume)
       :: else -> skip
       fi
     }
  :: else -> skip
  fi;
  unlock(mygen)
}

/* capsa_container_exec: a new process in a created or running container */
inline cmd_exec()
{
  open_locked(ok);
  if
  :: ok ->
     atomic { status(s, true); ok = (s == S_CREATED || s == S_RUNNING) };
     if
     :: ok ->
        fault(exec_after_fork);
        fault(exec_after_cgroup);
        atomic { if :: alive(sjpid) -> procs++ :: else -> skip fi };
        fault(exec_after_start)
     :: else -> skip
     fi
  :: else -> skip
  fi;
  unlock(mygen)
}

/* capsa_container_checkpoint: lock, require `running`, CRIU's dump, unlock; without
 * --leave-running CRIU has killed the workload, and the container is deleted (forced: only its
 * own, as run's) after the lock is closed. */
inline cmd_checkpoint(leave)
{
  tcmd = CMD_checkpoint;
  open_locked(ok);
  if :: !ok -> goto cp_end :: else -> skip fi;
  atomic { status(s, true); ok = (s == S_RUNNING); k = sjpid };
  if :: !ok -> goto cp_unlock :: else -> skip fi;
  /* criu dump --tree PID: saves the workload (the init and its tree) into the image; without
   * --leave-running it then kills it.  It fails if the workload has gone meanwhile (or for its
   * own reasons): the workload goes on. */
  atomic {
    if
    :: alive(k) ->
       img = true; imgof = lineage[k];
       if
       :: !leave -> kill_init(k); status(t, true); TRANS(S_RUNNING, t, CMD_checkpoint)
       :: else -> skip
       fi
    :: true -> ok = false
    fi
  };
  if :: !ok || leave -> goto cp_unlock :: else -> skip fi;
  fault(checkpoint_after_dump);
  force = true; then_delete = true; own = true; mine = k;
cp_unlock:
  unlock(mygen);
cp_end:
  skip
}

/* capsa_container_restore: the state dir (capsa_state_create_dir, as create), its state with the
 * cgroup, the cgroup; CRIU restores the image's workload into it; the state with the pid
 * (started); on failure the cgroup (and what is in it) and the dir are removed.  In the
 * foreground it then waits for the workload and deletes its own container, as run. */
inline cmd_restore(fg)
{
  tcmd = CMD_restore;
  planned = false;
  if :: !img -> goto rs_end :: else -> skip fi; /* "image path": no checkpoint */
  atomic {
    if
    :: dirgen == 0 -> nextgen++; dirgen = nextgen; mygen = dirgen
    :: else -> goto rs_end /* "already exists" */
    fi
  };
  lock(mygen);
  if :: dirgen != mygen -> goto rs_unlock :: else -> skip fi; /* deleted while being created */
  fault(restore_after_state_dir);
  planned = true;
  state_write(0, false, ok);
  if :: !ok -> goto rs_fail :: else -> skip fi;
  TRANS(S_NONE, S_CREATING, CMD_restore);
  cg = true;
  /* criu restore, inside the cgroup: the image's workload goes on in a new process */
  atomic {
    if
    :: ncreates++; ci = ncreates; runmode[ci] = false; lineage[ci] = imgof; ini[ci] = I_WORK;
       /* P5 (restore): the workload restored never runs beside another process of itself (its
        * original, or another restore of the image): one id has one state dir at a time, and
        * every command that removes it has ended its processes first. */
       g = 1;
       do
       :: g < MAXC -> assert(g == ci || !alive(g) || lineage[g] != imgof); g++
       :: g >= MAXC -> break
       od
    :: true -> ok = false
    fi
  };
  if :: !ok -> goto rs_fail :: else -> skip fi;
  fault(restore_after_criu);
  atomic {
    state_write(ci, true, ok);
    if :: ok -> status(s, true); TRANS(S_CREATING, s, CMD_restore) :: else -> skip fi
  };
  if :: !ok -> goto rs_fail :: else -> skip fi;
  if
  :: fg ->
     unlock(mygen);
     (ini[ci] == I_DEAD);
     force = true; then_delete = true; own = true; mine = ci
  :: else -> skip
  fi;
  goto rs_unlock;
rs_fail:
  atomic { if :: ci != 0 && alive(ci) -> kill_init(ci) :: else -> skip fi };
  if :: planned -> cgroup_destroy() :: else -> skip fi;
  remove_dir();
rs_unlock:
  unlock(mygen);
rs_end:
  skip
}

proctype client(byte id)
{
  byte mygen, ci, k, s, t, g, n, tcmd, mine;
  bool ok, planned, holds_reader, force, then_delete, own;

  n = 0;
  do
  :: n < NCMDS ->
     n++;
     mygen = 0; ci = 0; holds_reader = false; then_delete = false; own = false; mine = 0;
     if
     :: cmd_create_run(false)
     :: cmd_create_run(true)
     :: cmd_start()
     :: cmd_exec()
     :: cmd_kill()
     :: cmd_freeze(true)
     :: cmd_freeze(false)
     :: force = false; then_delete = true; tcmd = CMD_delete
     :: force = true; then_delete = true; tcmd = CMD_delete
#ifndef NO_CR /* the mutants of bugs that need no checkpoint/restore: a 3 times smaller search */
     :: cmd_checkpoint(false)
     :: cmd_checkpoint(true)
     :: cmd_restore(false)
     :: cmd_restore(true)
#endif
     fi;
     if
     :: then_delete -> cmd_delete(force)
     :: else -> skip
     fi
  :: n > 0 -> break
  od;
  goto done;
crashed:
  die();
done:
  atomic { clients_done++ }
}

/* The processes the kernel runs: the inits, their workloads, exec'd processes. */
active proctype kernel()
{
  byte c, s;
end:
  do
  :: atomic {
       c = 1;
       do
       :: c < MAXC -> c++
       :: c < MAXC -> break
       od;
       if
       /* init:after-mounts: SIGKILLed while preparing */
       :: ini[c] == I_SETUP && crashes < CRASHES -> crashes++; kill_init(c)
       /* create's init opens the fifo's write end once start holds the read end, writes a byte */
       :: ini[c] == I_WAIT && !runmode[c] && reader && !(frozen && sjpid == c) -> ini[c] = I_FIFO
       /* init:after-start: SIGKILLed before the execve */
       :: ini[c] == I_FIFO && crashes < CRASHES -> crashes++; kill_init(c)
       :: ini[c] == I_FIFO && !(frozen && sjpid == c) -> ini[c] = I_WORK; runs[c]++
       /* the workload exits */
       :: ini[c] == I_WORK && !(frozen && sjpid == c) -> kill_init(c)
       :: procs > 0 && !frozen -> procs--
       fi
     }
  od
}

/* `state` (unlocked, any time): what it may report. */
active proctype monitor()
{
  byte s;
end:
  do
  :: atomic {
       status(s, false);
       /* P1: a live status (created, running, paused) means a live init in an existing cgroup.
        * Excludes: a status stored instead of computed (reported after the process died), and a
        * delete or a failed create that removes the cgroup before the init is gone. */
       assert(!(s == S_CREATED || s == S_RUNNING || s == S_PAUSED) || (alive(sjpid) && cg));
       /* P2: never `created` once the workload ran.  Excludes: start letting the init exec
        * before the exec fifo is gone (an engine would call start again: a second workload). */
       assert(!(s == S_CREATED) || runs[sjpid] == 0);
     }
  od
}

init
{
  byte i, g, c, mygen, ci, s, t, tcmd, mine;
  bool ok, planned, holds_reader, force, own;

  c_code { now.row = getenv ("ROW") ? atoi (getenv ("ROW")) : 0; };
  atomic {
    i = 0;
    do
    :: i < NCLIENTS -> run client(i); i++
    :: i >= NCLIENTS -> break
    od
  };
  (clients_done == NCLIENTS);
  /* P4: of concurrent creates of one id, one wins (no more unless a delete came between).
   * Excludes: a check-then-mkdir (two creates both succeed on one state dir). */
  assert(wins <= removals + 1);
  /* P5: the workload of each init is exec'd at most once.  Excludes: start executing the workload
   * twice (two starts both seeing `created`), run starting it again.  A restored process is not
   * exec'd at all (runs stays 0): it continues the image's workload (its `lineage`) from where
   * the dump saved it, and (asserted in cmd_restore) never beside a live process of the same
   * workload.  That a restore repeats what the workload did after a --leave-running dump is
   * what checkpoint/restore means, not a second run. */
  c = 1;
  do
  :: c < MAXC -> assert(runs[c] <= 1); c++
  :: c >= MAXC -> break
  od;
  /* P3: after any interleaving and one crash, delete --force (without a crash: the budget is
   * spent or the next one would be retried) leaves nothing: no state dir, no cgroup, no init, no
   * process.  Excludes: resources that no command can find any more (a leaked cgroup or init). */
  crashes = CRASHES;
  mygen = 0; force = true; tcmd = CMD_delete; own = false;
  cmd_delete(force);
  assert(dirgen == 0 && !cg && procs == 0);
  c = 1;
  do
  :: c < MAXC -> assert(!alive(c)); c++
  :: c >= MAXC -> break
  od;
  goto fin;
crashed:
  assert(false);
fin:
  skip
}
