from sportello_deploy.simulate.run import main

# Guarded: the worker processes of run.run_all import this package afresh.
if __name__ == "__main__":
    main()
