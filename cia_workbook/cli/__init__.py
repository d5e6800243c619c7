"""The command line: thin click commands that alone know the working folder's paths, the stages
chained per command (pipeline), the console's French output and progress, the lock of a
working folder and the processes a command starts."""
